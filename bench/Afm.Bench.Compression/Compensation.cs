using Afm.Compression;
using Afm.Compression.Allocation;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;

/// <summary>
/// Section 1e: GPTQ-style error-compensating rounding (the plan's Assignment="gptq") against nearest rounding, for the
/// palettizer and for the uniform grid, every linear layer at b bits, same bits per weight, same validation sequences.
/// The criterion compares the palettizer as the plan builds it with the uniform round-to-nearest baseline;
/// the last rows give the uniform grid the same compensation, so what palettization itself adds stays visible.
/// k-means++ seeds are redrawn (+0..+3) for the compensated palettizer so its spread is printed beside the ratio.
/// </summary>
internal static class Compensation
{
    public static void Run(IReadOnlyList<LayerPlan> linear, IReadOnlyDictionary<string, float[]> original,
        IReadOnlyDictionary<string, float[]> importance, IReadOnlyDictionary<string, double[]> hessians, long seed, int threads,
        int iterations, Func<Func<LayerPlan, float[]?>, double[]> losses)
    {
        var floatLosses = losses(_ => null);
        Console.WriteLine("1e. error-compensating rounding (GPTQ order and update on the layer's input second moment): gap in nats/token vs float");
        Console.WriteLine("bits | variant | bpw | gap | ratio to uniform RTN [90% bootstrap] | ratio to uniform GPTQ");
        foreach (int bits in new[] { 4, 3 })
        {
            PalettizedTensor Pal(LayerPlan l, long s, bool compensate) => Palettizer.Palettize(l.WeightName, l.Shape, original[l.WeightName],
                importance[l.WeightName], bits, 16, LutType.Fp16, s, iterations, threads, compensate ? hessians[l.WeightName] : null);
            var nearest = linear.ToDictionary(l => l.WeightName, l => Pal(l, seed, false));
            double bpw = 8.0 * nearest.Values.Sum(t => t.StorageBytes) / nearest.Values.Sum(t => t.Count);
            var uniformRtn = FairComparison.Losses(losses, linear, l => LayerQuantizer.UniformAtEqualBits(nearest[l.WeightName], original[l.WeightName]).Dequantize());
            var uniformGptq = FairComparison.Losses(losses, linear, l =>
            {
                var block = LayerQuantizer.UniformAtEqualBits(nearest[l.WeightName], original[l.WeightName]).BlockSize;
                return UniformQuantizer.Quantize(l.WeightName, l.Shape, original[l.WeightName], bits, block, hessians[l.WeightName], threads).Dequantize();
            });
            var rows = new List<(string, double[])>
            {
                ("palettized, nearest (Fisher k-means)", FairComparison.Losses(losses, linear, l => nearest[l.WeightName].Dequantize())),
            };
            for (long s = 0; s < 4; s++)
                rows.Add(($"palettized, GPTQ, seed +{s}", FairComparison.Losses(losses, linear, l => Pal(l, seed + s, true).Dequantize())));
            rows.Add(("uniform RTN (report baseline)", uniformRtn));
            rows.Add(("uniform GPTQ", uniformGptq));
            foreach (var (name, variant) in rows)
            {
                var (ratio, low, high) = FairComparison.Ratio(variant, uniformRtn, floatLosses);
                var (toGptq, _, _) = FairComparison.Ratio(variant, uniformGptq, floatLosses);
                Console.WriteLine($"{bits,4} | {name,-38} | {bpw:F4} | {FairComparison.Gap(variant, floatLosses),9:F6} | {ratio,6:F3} [{low:F3}, {high:F3}] | {toGptq,6:F3}");
            }
        }
    }
}
