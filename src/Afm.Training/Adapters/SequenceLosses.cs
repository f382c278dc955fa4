using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Adapters;

/// <summary>
/// Next-token loss per validation sequence: the summed nats of its counted targets (every target of pretraining data,
/// response targets of masked data) and how many there are. Kept per sequence so a bootstrap can resample sequences
/// (RecoveryMeasurement); the mean over all of them is <see cref="AdapterEvaluator.MeanLoss"/>'s number.
/// </summary>
public sealed record SequenceLosses(double[] Sums, long[] Counts)
{
    public double Mean => Sums.Sum() / Math.Max(1, Counts.Sum());

    /// <summary>The sequences <see cref="AdapterEvaluator.MeanLoss"/> measures, in eval mode without gradients.</summary>
    public static SequenceLosses Measure(AfmDecoder model, IPackedSequences source, int maxSequences = AdapterEvaluator.MaxSequences)
    {
        var indices = Evaluator.Spread(source, maxSequences);
        var masked = source as ILossMaskedSequences;
        int length = source.SequenceLength, width = length + 1, batchSize = 8;
        var buffer = new int[batchSize * width];
        var mask = new byte[batchSize * width];
        var sums = new double[indices.Count];
        var counts = new long[indices.Count];
        bool wasTraining = model.training;
        model.eval();
        using (no_grad())
        {
            for (int start = 0; start < indices.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, indices.Count - start);
                for (int b = 0; b < n; b++)
                {
                    source.Read(indices[start + b], buffer.AsSpan(b * width, width));
                    masked?.ReadLossMask(indices[start + b], mask.AsSpan(b * width, width));
                }
                var batch = tensor(buffer, [batchSize, width]).narrow(0, 0, n).to_type(ScalarType.Int64);
                var targets = masked is null ? batch.narrow(1, 1, length) : MaskedLoss.Targets(batch, mask.AsSpan(0, n * width), n, length);
                var logits = model.forward(batch.narrow(1, 0, length));
                var nll = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1),
                    ignore_index: MaskedLoss.IgnoreIndex, reduction: nn.Reduction.None).reshape(n, length).to_type(ScalarType.Float64);
                var rowSums = nll.sum(1).data<double>().ToArray();
                var rowCounts = targets.ne(MaskedLoss.IgnoreIndex).sum(1).data<long>().ToArray();
                for (int b = 0; b < n; b++)
                {
                    sums[start + b] = rowSums[b];
                    counts[start + b] = rowCounts[b];
                }
            }
        }
        if (wasTraining) model.train();
        return new SequenceLosses(sums, counts);
    }
}
