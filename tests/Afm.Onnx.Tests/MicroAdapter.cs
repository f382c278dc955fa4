using Afm.Onnx.Adapters;
using Afm.Onnx.Export;

namespace Afm.Onnx.Tests;

/// <summary>Random LoRA adapters for a micro decoder, and the float model with such an adapter merged in.</summary>
internal static class MicroAdapter
{
    /// <summary>A [rank, in] and B [out, rank] for every adaptable weight (or the ones <paramref name="only"/> keeps).</summary>
    public static Dictionary<string, (long[] Shape, float[] Values)> Random(DecoderModel model, int rank, int seed, Func<string, bool>? only = null)
    {
        var random = new Random(seed);
        var tensors = new Dictionary<string, (long[], float[])>(StringComparer.Ordinal);
        foreach (var weight in DecoderNames.AdaptableWeights(model.Architecture.Layers).Where(w => only?.Invoke(w) ?? true))
        {
            var shape = model.Weights[weight].Shape;
            tensors[DecoderNames.LoraA(weight)] = ([rank, shape[1]], Values(random, rank * shape[1]));
            tensors[DecoderNames.LoraB(weight)] = ([shape[0], rank], Values(random, shape[0] * rank));
        }
        return tensors;
    }

    public static TrainedAdapter Trained(string name, string baseSha256, int rank, Dictionary<string, (long[] Shape, float[] Values)> tensors) =>
        new(name, "feature", rank, "3", baseSha256, tensors);

    /// <summary>The same decoder with W + B A in place of every adapted W: what the adapter must compute.</summary>
    public static DecoderModel Merge(DecoderModel model, Dictionary<string, (long[] Shape, float[] Values)> adapter)
    {
        var weights = new SortedDictionary<string, ExportWeight>(model.Weights.ToDictionary(), StringComparer.Ordinal);
        foreach (var weight in DecoderNames.AdaptableWeights(model.Architecture.Layers))
        {
            if (!adapter.TryGetValue(DecoderNames.LoraA(weight), out var a)) continue;
            var b = adapter[DecoderNames.LoraB(weight)];
            var w = (FloatWeight)model.Weights[weight];
            long rows = w.Shape[0], cols = w.Shape[1], rank = a.Shape[0];
            var merged = (float[])w.Values.Clone();
            for (long o = 0; o < rows; o++)
                for (long i = 0; i < cols; i++)
                {
                    double sum = 0;
                    for (long r = 0; r < rank; r++) sum += (double)b.Values[o * rank + r] * a.Values[r * cols + i];
                    merged[o * cols + i] += (float)sum;
                }
            weights[weight] = new FloatWeight(merged, w.Shape);
        }
        return model with { Weights = weights };
    }

    private static float[] Values(Random random, long count) =>
        Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.2f).ToArray();
}
