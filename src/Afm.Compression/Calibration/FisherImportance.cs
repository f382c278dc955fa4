using Afm.Data.Packing;
using Afm.Training.Model;
using static TorchSharp.torch;

namespace Afm.Compression.Calibration;

/// <summary>
/// Diagonal Fisher information of every matrix on the calibration sequences: the sum over sequences (one per backward
/// pass: squared per-sample gradients, the empirical Fisher, rather than squares of averaged batch gradients) of the
/// squared gradient of the loss (SqueezeLLM's sensitivity weighting). A weight whose error moves the loss more
/// pulls its centroid closer.
/// </summary>
public static class FisherImportance
{
    /// <summary>Added to every entry, relative to the layer's mean, so weights with no gradient still count a little.</summary>
    private const double Floor = 1e-3;

    public static Dictionary<string, float[]> Measure(AfmDecoder model, IPackedSequences source, IReadOnlyList<long> indices, int batchSize = 1)
    {
        int length = source.SequenceLength;
        var matrices = model.named_parameters().Where(p => p.parameter.dim() >= 2).ToList();
        var sums = matrices.ToDictionary(p => p.name, p => zeros_like(p.parameter));
        var buffer = new int[batchSize * (length + 1)];
        model.eval();
        try
        {
            for (int start = 0; start < indices.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, indices.Count - start);
                for (int b = 0; b < n; b++) source.Read(indices[start + b], buffer.AsSpan(b * (length + 1), length + 1));
                var batch = tensor(buffer, [batchSize, length + 1]).narrow(0, 0, n).to_type(ScalarType.Int64);
                model.zero_grad();
                var logits = model.forward(batch.narrow(1, 0, length));
                var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), batch.narrow(1, 1, length).reshape(-1));
                loss.backward();
                using var noGrad = no_grad();
                foreach (var (name, p) in matrices) sums[name].add_(p.grad!.square());
            }
            model.zero_grad();
            var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var (name, sum) in sums)
            {
                var values = sum.data<float>().ToArray();
                double floor = Floor * values.Average(v => (double)v);
                if (floor <= 0) floor = 1;
                result[name] = values.Select(v => (float)(v + floor)).ToArray();
                sum.Dispose();
            }
            return result;
        }
        finally
        {
            model.eval();
        }
    }
}
