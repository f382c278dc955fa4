using Afm.Data.Packing;
using Afm.Training.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Compression.Calibration;

/// <summary>
/// The second moment H = sum over calibration tokens of x x^T of every linear projection's input x (GPTQ's layer
/// Hessian: the output error of a weight change dW is tr(dW H dW^T)). Measured on the float model: every layer sees
/// the inputs it sees in float, so layers can be quantized independently and in any order.
/// </summary>
public static class InputCovariance
{
    /// <param name="groupBytes">The projections are measured in groups whose fp64 moments take at most this many bytes (one
    /// projection at least), one set of forward passes per group, each moment written out when its group is done: held
    /// together, a 0.6B model's moments take 4.2 GB. Every group sees the same forward passes, so grouping changes nothing.</param>
    /// <returns>Per weight name (e.g. layers.0.attn.q_proj.weight), H as a row-major [in, in] array.</returns>
    public static SpilledArrays<double> Measure(AfmDecoder model, IPackedSequences source, IReadOnlyList<long> indices, long groupBytes = long.MaxValue,
        int batchSize = 4)
    {
        var linears = model.named_modules().Where(m => m.module is Linear).Select(m => (Name: m.name + ".weight", Module: (Linear)m.module)).ToList();
        var result = new SpilledArrays<double>();
        try
        {
            var group = new List<(string Name, Linear Module)>();
            long size = 0;
            foreach (var linear in linears)
            {
                long inputs = linear.Module.weight!.shape[1], bytes = inputs * inputs * sizeof(double);
                if (group.Count > 0 && size + bytes > groupBytes)
                {
                    Accumulate(model, source, indices, group, result, batchSize);
                    Afm.Training.TorchRuntime.ReleaseFreeMemory(); // the group's moments are in the file now
                    (group, size) = ([], 0);
                }
                group.Add(linear);
                size += bytes;
            }
            if (group.Count > 0) Accumulate(model, source, indices, group, result, batchSize);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private static void Accumulate(AfmDecoder model, IPackedSequences source, IReadOnlyList<long> indices, List<(string Name, Linear Module)> linears,
        SpilledArrays<double> result, int batchSize)
    {
        var sums = linears.ToDictionary(l => l.Name, l => zeros([l.Module.weight!.shape[1], l.Module.weight!.shape[1]], ScalarType.Float64));
        var removers = linears.Select(l => l.Module.register_forward_hook((_, input, output) =>
        {
            using var x = input.detach().reshape(-1, input.shape[^1]).to_type(ScalarType.Float64);
            using var product = x.t().matmul(x);
            sums[l.Name].add_(product);
            return output;
        })).ToList();
        int length = source.SequenceLength;
        var buffer = new int[batchSize * (length + 1)];
        // A group of blocks' projections needs the passes only up to its last block (the same inputs reach them): on 28 layers
        // of Qwen3-0.6B's shapes a full pass ran every later block and the 151,936-token head for each of 14 groups (issue #15).
        var layerOf = linears.Select(l => AfmDecoder.LayerOf(l.Name)).ToList();
        int end = layerOf.All(i => i is not null) ? layerOf.Max(i => i!.Value) + 1 : 0;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using (no_grad())
            {
                for (int start = 0; start < indices.Count; start += batchSize)
                {
                    using var scope = NewDisposeScope();
                    int n = Math.Min(batchSize, indices.Count - start);
                    for (int b = 0; b < n; b++) source.Read(indices[start + b], buffer.AsSpan(b * (length + 1), length + 1));
                    var batch = tensor(buffer, [batchSize, length + 1]).narrow(0, 0, n).narrow(1, 0, length).to_type(ScalarType.Int64);
                    if (end > 0) model.RunLayers(model.Embed(batch), 0, end);
                    else model.forward(batch);
                }
            }
            foreach (var (name, sum) in sums) result.Add(name, sum.data<double>().ToArray());
        }
        finally
        {
            foreach (var remover in removers) remover.remove();
            foreach (var sum in sums.Values) sum.Dispose();
            if (wasTraining) model.train();
        }
    }
}
