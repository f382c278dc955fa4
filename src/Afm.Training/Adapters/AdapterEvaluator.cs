using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.Stages;

namespace Afm.Training.Adapters;

/// <summary>
/// Mean next-token loss of a model (with whatever adapter is attached) on validation sequences: over every target for
/// pretraining data, over response targets only for masked (prompt/response) data — the feature adapters' task metric.
/// </summary>
public static class AdapterEvaluator
{
    public const int MaxSequences = 128;

    public static double MeanLoss(AfmDecoder model, IPackedSequences source, int maxSequences = MaxSequences) =>
        source is ILossMaskedSequences
            ? SequenceLosses.Measure(model, source, maxSequences).Mean
            : Evaluator.MeanLoss(model, source, Evaluator.Spread(source, maxSequences));
}
