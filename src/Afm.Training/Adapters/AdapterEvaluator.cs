using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Adapters;

/// <summary>
/// Mean next-token loss of a model (with whatever adapter is attached) on validation sequences: over every target for
/// pretraining data, over response targets only for masked (prompt/response) data — the feature adapters' task metric.
/// </summary>
public static class AdapterEvaluator
{
    public const int MaxSequences = 128;

    public static double MeanLoss(AfmDecoder model, IPackedSequences source, int maxSequences = MaxSequences)
    {
        var indices = Evaluator.Spread(source, maxSequences);
        if (source is not ILossMaskedSequences masked) return Evaluator.MeanLoss(model, source, indices);
        int length = source.SequenceLength, width = length + 1, batchSize = 8;
        var buffer = new int[batchSize * width];
        var mask = new byte[batchSize * width];
        double total = 0;
        long counted = 0;
        model.eval();
        using (no_grad())
        {
            for (int start = 0; start < indices.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, indices.Count - start);
                for (int b = 0; b < n; b++)
                {
                    masked.Read(indices[start + b], buffer.AsSpan(b * width, width));
                    masked.ReadLossMask(indices[start + b], mask.AsSpan(b * width, width));
                }
                var batch = tensor(buffer, [batchSize, width]).narrow(0, 0, n).to_type(ScalarType.Int64);
                var targets = MaskedLoss.Targets(batch, mask.AsSpan(0, n * width), n, length);
                var (loss, count) = MaskedLoss.Loss(model.forward(batch.narrow(1, 0, length)), targets);
                total += loss.item<float>() * (double)count;
                counted += count;
            }
        }
        return total / Math.Max(1, counted);
    }
}
