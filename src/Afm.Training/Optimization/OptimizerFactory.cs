using Afm.Core.Spec;
using Afm.Training.Model;

namespace Afm.Training.Optimization;

/// <summary>Builds a stage's optimizer over the model's parameters.</summary>
public static class OptimizerFactory
{
    /// <summary>
    /// Weight decay applies to the matrices of the blocks (and an untied lm_head) only, not to norms or the
    /// embedding: the tied embedding doubles as the output projection, and decaying rare tokens' rows toward
    /// zero only hurts them.
    /// </summary>
    public static StageOptimizerBase Create(AfmDecoder model, TrainingStageSpec stage) =>
        Create(model.named_parameters().Select(p => (p.name, p.parameter)).ToList(), stage);

    /// <summary>As above for any named parameters (a reward model's decoder and head; the head is a matrix, decayed like the blocks').</summary>
    public static StageOptimizerBase Create(IReadOnlyList<(string name, TorchSharp.Modules.Parameter parameter)> named, TrainingStageSpec stage)
    {
        var parameters = named
            .Select(p => new OptimizedParameter(p.name, p.parameter, p.parameter.dim() >= 2 && !p.name.StartsWith("embed.", StringComparison.Ordinal)))
            .ToList();
        return stage.Optimizer switch
        {
            StageOptimizer.AdamW => new AdamWOptimizer(parameters, stage.WeightDecay),
            StageOptimizer.Afm => new AfmOptimizer(parameters, stage.WeightDecay),
            _ => throw new ArgumentOutOfRangeException(nameof(stage), stage.Optimizer, "Unknown optimizer."),
        };
    }
}
