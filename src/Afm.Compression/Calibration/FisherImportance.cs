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

    /// <param name="names">The matrices to measure (null: every matrix).</param>
    /// <param name="groupBytes">The matrices are measured in groups of at most this many fp32 bytes (at least one matrix each),
    /// one set of backward passes per group with only that group's gradients required: the gradients and their sums then
    /// take twice a group's size instead of twice the model's. A weight's gradient does not depend on which other
    /// weights require one, so the result is the same for any grouping.</param>
    public static SpilledArrays<float> Measure(AfmDecoder model, IPackedSequences source, IReadOnlyList<long> indices,
        IReadOnlyCollection<string>? names = null, long groupBytes = long.MaxValue, int batchSize = 1)
    {
        var parameters = model.named_parameters().ToList();
        var matrices = parameters.Where(p => p.parameter.dim() >= 2 && (names is null || names.Contains(p.name))).ToList();
        var requiresGrad = parameters.Select(p => p.parameter.requires_grad).ToList();
        var result = new SpilledArrays<float>();
        try
        {
            foreach (var group in Groups(matrices, groupBytes))
            {
                foreach (var (name, p) in parameters) p.requires_grad = group.Any(g => g.name == name);
                Accumulate(model, source, indices, group, result, batchSize);
                // The group's gradients and sums are free now; without this their pages stay resident under the next group's.
                Afm.Training.TorchRuntime.ReleaseFreeMemory();
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
        finally
        {
            for (int i = 0; i < parameters.Count; i++) parameters[i].parameter.requires_grad = requiresGrad[i];
            model.eval();
        }
    }

    /// <summary>Consecutive runs of matrices whose fp32 sizes add up to at most <paramref name="bytes"/> (one matrix at least).</summary>
    internal static IEnumerable<List<(string name, TorchSharp.Modules.Parameter parameter)>> Groups(
        IEnumerable<(string name, TorchSharp.Modules.Parameter parameter)> matrices, long bytes)
    {
        var group = new List<(string, TorchSharp.Modules.Parameter)>();
        long size = 0;
        foreach (var m in matrices)
        {
            long b = m.parameter.numel() * sizeof(float);
            if (group.Count > 0 && size + b > bytes)
            {
                yield return group;
                (group, size) = ([], 0);
            }
            group.Add(m);
            size += b;
        }
        if (group.Count > 0) yield return group;
    }

    private static void Accumulate(AfmDecoder model, IPackedSequences source, IReadOnlyList<long> indices,
        List<(string name, TorchSharp.Modules.Parameter parameter)> matrices, SpilledArrays<float> result, int batchSize)
    {
        int length = source.SequenceLength;
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
            // Freed, not zeroed: the next group's gradients take their place.
            model.zero_grad(set_to_none: true);
            foreach (var (name, sum) in sums)
            {
                var values = sum.data<float>().ToArray();
                sum.Dispose();
                double floor = Floor * values.Average(v => (double)v);
                if (floor <= 0) floor = 1;
                for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] + floor);
                result.Add(name, values);
            }
        }
        finally
        {
            foreach (var sum in sums.Values) sum.Dispose();
        }
    }
}
