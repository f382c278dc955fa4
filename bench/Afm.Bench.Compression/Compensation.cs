using Afm.Compression;
using Afm.Compression.Allocation;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;

/// <summary>
/// Section 1e, the issue's criterion as the plan builds it: the palettizer with GPTQ rounding and LUT refits (the default
/// Rounding="gptq") against the uniform round-to-nearest baseline, every linear layer at b bits, equal bits per weight.
/// On a small model one draw of a quantization moves its gap a lot (section 1d), so both methods are drawn several
/// times — the palettizer with k-means++ seeds +0..+R-1, the uniform grid with its block 0, ±1, ±2 … weights longer —
/// and the criterion is judged on the mean gaps; the 90% interval resamples validation sequences and draws together.
/// The same draws' KL divergence from the float model (second order, never negative: Evaluator.MeanLossAndDivergence) is printed
/// beside the gaps. The plan's palettizer ends with grid tuning (LUT entries trained against the float model, GridTuning);
/// also printed: the same palettizer untuned, nearest rounding (the session-2 palettizer), and the uniform grid given the
/// same GPTQ rounding and the same tuning (of its scales and offsets), so what the LUT itself adds stays visible.
/// </summary>
internal static class Compensation
{
    public static void Run(IReadOnlyList<LayerPlan> linear, IReadOnlyDictionary<string, float[]> original,
        IReadOnlyDictionary<string, float[]> importance, IReadOnlyDictionary<string, double[]> hessians, long seed, int threads,
        int iterations, int draws, Func<Func<LayerPlan, float[]?>, (double[] Loss, double[] Kl)> measure,
        Func<IReadOnlyDictionary<string, QuantizedTensor>, IReadOnlyDictionary<string, QuantizedTensor>> tune)
    {
        var klOf = new Dictionary<double[], double[]>(ReferenceEqualityComparer.Instance);
        double[] losses(Func<LayerPlan, float[]?> replace)
        {
            var (loss, kl) = measure(replace);
            klOf[loss] = kl;
            return loss;
        }
        var floatLosses = losses(_ => null);
        var zeros = new double[floatLosses.Length];
        Console.WriteLine($"1e. the plan's palettizer (Fisher k-means + GPTQ rounding + LUT refits + grid tuning) vs uniform round-to-nearest, {draws} draws each; " +
            "gaps in nats/token vs float");
        Console.WriteLine("bits | bpw | palettized gaps (seeds +0..) | uniform RTN gaps (block +0, -1, +1, ..) | ratio of mean gaps [90%: sequences x draws] " +
            "| palettized untuned / uniform RTN | palettized nearest / uniform RTN | uniform GPTQ / uniform RTN | uniform GPTQ+tuned / uniform RTN | palettized / uniform GPTQ+tuned");
        Console.WriteLine("     then KL(float || quantized), nats/token: palettized draws | uniform RTN draws | ratio of means [90%] | palettized untuned / uniform RTN " +
            "| palettized nearest / uniform RTN | uniform GPTQ+tuned / uniform RTN");
        foreach (int bits in new[] { 4, 3 })
        {
            PalettizedTensor Pal(LayerPlan l, long s, bool compensate) => Palettizer.Palettize(l.WeightName, l.Shape, original[l.WeightName],
                importance[l.WeightName], bits, 16, LutType.Fp16, s, iterations, threads, compensate ? hessians[l.WeightName] : null);
            var first = linear.ToDictionary(l => l.WeightName, l => Pal(l, seed, true));
            double bpw = 8.0 * first.Values.Sum(t => t.StorageBytes) / first.Values.Sum(t => t.Count);
            var blocks = linear.ToDictionary(l => l.WeightName, l => LayerQuantizer.EqualBitsBlockSize(first[l.WeightName]));

            double[] Tuned(IReadOnlyDictionary<string, QuantizedTensor> tensors)
            {
                var tuned = tune(tensors);
                return FairComparison.Losses(losses, linear, l => tuned[l.WeightName].Dequantize());
            }
            var untuned = FairComparison.Losses(losses, linear, l => first[l.WeightName].Dequantize());
            var pal = new List<double[]> { Tuned(first.ToDictionary(p => p.Key, p => (QuantizedTensor)p.Value)) };
            for (long s = 1; s < draws; s++) pal.Add(Tuned(linear.ToDictionary(l => l.WeightName, l => (QuantizedTensor)Pal(l, seed + s, true))));
            var uni = Enumerable.Range(0, draws).Select(d => d % 2 == 1 ? (d + 1) / 2 : -d / 2).Select(shift => FairComparison.Losses(losses, linear,
                l => UniformQuantizer.Quantize(l.WeightName, l.Shape, original[l.WeightName], bits, blocks[l.WeightName] + shift).Dequantize())).ToList();
            var nearest = FairComparison.Losses(losses, linear, l => Pal(l, seed, false).Dequantize());
            var uniGptqTensors = linear.ToDictionary(l => l.WeightName, l => (QuantizedTensor)UniformQuantizer.Quantize(l.WeightName, l.Shape,
                original[l.WeightName], bits, blocks[l.WeightName], hessians[l.WeightName], threads));
            var uniGptq = FairComparison.Losses(losses, linear, l => uniGptqTensors[l.WeightName].Dequantize());
            var uniTuned = Tuned(uniGptqTensors);

            var (ratio, low, high) = RatioOverDraws(pal, uni, floatLosses);
            double uniMean = uni.Average(u => FairComparison.Gap(u, floatLosses));
            Console.WriteLine($"{bits,4} | {bpw:F4} | {string.Join(" ", pal.Select(p => FairComparison.Gap(p, floatLosses).ToString("F6")))} | " +
                $"{string.Join(" ", uni.Select(u => FairComparison.Gap(u, floatLosses).ToString("F6")))} | {ratio:F3} [{low:F3}, {high:F3}] | " +
                $"{FairComparison.Gap(untuned, floatLosses) / uniMean:F3} | {FairComparison.Gap(nearest, floatLosses) / uniMean:F3} | " +
                $"{FairComparison.Gap(uniGptq, floatLosses) / uniMean:F3} | {FairComparison.Gap(uniTuned, floatLosses) / uniMean:F3} | " +
                $"{pal.Average(p => FairComparison.Gap(p, floatLosses)) / FairComparison.Gap(uniTuned, floatLosses):F3}");
            var palKl = pal.Select(p => klOf[p]).ToList();
            var uniKl = uni.Select(u => klOf[u]).ToList();
            var (klRatio, klLow, klHigh) = RatioOverDraws(palKl, uniKl, zeros);
            Console.WriteLine($"  KL | {string.Join(" ", palKl.Select(k => k.Average().ToString("F6")))} | {string.Join(" ", uniKl.Select(k => k.Average().ToString("F6")))} | " +
                $"{klRatio:F3} [{klLow:F3}, {klHigh:F3}] | {klOf[untuned].Average() / uniKl.Average(k => k.Average()):F3} | " +
                $"{klOf[nearest].Average() / uniKl.Average(k => k.Average()):F3} | {klOf[uniTuned].Average() / uniKl.Average(k => k.Average()):F3}");
        }
    }

    /// <summary>Ratio of the mean gaps over draws, and its 5th-95th percentile over 2000 resamples of sequences and of draws (seeded).</summary>
    private static (double Ratio, double Low, double High) RatioOverDraws(List<double[]> a, List<double[]> b, double[] reference)
    {
        double Mean(List<double[]> draws) => draws.Average(d => FairComparison.Gap(d, reference));
        var random = new Random(23);
        var samples = new List<double>();
        int n = reference.Length;
        for (int s = 0; s < 2000; s++)
        {
            var sequences = Enumerable.Range(0, n).Select(_ => random.Next(n)).ToArray();
            double Resampled(List<double[]> draws)
            {
                double total = 0;
                for (int d = 0; d < draws.Count; d++)
                {
                    var draw = draws[random.Next(draws.Count)];
                    foreach (int k in sequences) total += draw[k] - reference[k];
                }
                return total;
            }
            samples.Add(Resampled(a) / Resampled(b));
        }
        samples.Sort();
        return (Mean(a) / Mean(b), samples[100], samples[1899]);
    }
}
