using Afm.Compression;
using Afm.Compression.Allocation;
using Afm.Compression.Storage;

/// <summary>
/// Section 1b: is "palettized gap ≤ 0.5 × uniform gap" judged fairly? Every variant at the same effective bits per
/// weight as the palettization (its LUT bytes = the uniform's scale/offset bytes), on the same validation sequences:
/// - uniform asymmetric min/max (the report's baseline), symmetric absmax (one fp16 scale per block, so half the block),
///   and asymmetric with a per-block clipping search that minimises the Fisher-weighted squared error (the same
///   calibration the palettizer gets);
/// - palettized with Fisher importance, without, and with 4x the k-means iterations.
/// Gaps are in nats/token against float; the ratio's 90% interval is a bootstrap over validation sequences.
/// </summary>
internal static class FairComparison
{
    public static void Run(IReadOnlyList<LayerPlan> linear, Func<LayerPlan, int, PalettizedTensor> palettize,
        Func<LayerPlan, int, PalettizedTensor> plain, Func<LayerPlan, int, PalettizedTensor> longer,
        IReadOnlyDictionary<string, float[]> original, IReadOnlyDictionary<string, float[]> importance,
        Func<Func<LayerPlan, float[]?>, double[]> losses)
    {
        var floatLosses = losses(_ => null);
        Console.WriteLine("1b. fairness: gaps in nats/token vs float (mean over validation sequences), every linear layer at b bits, equal bits per weight");
        Console.WriteLine("bits | variant | bpw | gap | ratio pal(Fisher)/variant [90% bootstrap]");
        foreach (int bits in new[] { 4, 3 })
        {
            var pal = linear.ToDictionary(l => l.WeightName, l => palettize(l, bits));
            double bpw = 8.0 * pal.Values.Sum(t => t.StorageBytes) / pal.Values.Sum(t => t.Count);
            var palLosses = losses(l => pal.TryGetValue(l.WeightName, out var t) ? t.Dequantize() : null);
            var variants = new List<(string Name, double[] Losses)>
            {
                ("palettized, Fisher (the plan's default)", palLosses),
                ("palettized, no importance", Losses(losses, linear, l => plain(l, bits).Dequantize())),
                ("palettized, Fisher, 4x k-means iterations", Losses(losses, linear, l => longer(l, bits).Dequantize())),
                ("uniform asym min/max (report baseline)", Losses(losses, linear, l => LayerQuantizer.UniformAtEqualBits(pal[l.WeightName], original[l.WeightName]).Dequantize())),
                ("uniform symmetric absmax, half block", Losses(losses, linear, l => Symmetric(original[l.WeightName], bits, LayerQuantizer.EqualBitsBlockSize(pal[l.WeightName]) / 2))),
                ("uniform asym + Fisher-weighted clip search", Losses(losses, linear, l => Clipped(original[l.WeightName], importance[l.WeightName], bits, LayerQuantizer.EqualBitsBlockSize(pal[l.WeightName])))),
            };
            foreach (var (name, variant) in variants)
            {
                var (ratio, low, high) = Ratio(palLosses, variant, floatLosses);
                Console.WriteLine($"{bits,4} | {name,-44} | {bpw:F4} | {Gap(variant, floatLosses),9:F6} | {ratio,6:F3} [{low:F3}, {high:F3}]");
            }
        }
    }

    internal static double[] Losses(Func<Func<LayerPlan, float[]?>, double[]> losses, IReadOnlyList<LayerPlan> linear, Func<LayerPlan, float[]> values)
    {
        var names = linear.Select(l => l.WeightName).ToHashSet();
        return losses(l => names.Contains(l.WeightName) ? values(l) : null);
    }

    internal static double Gap(double[] variant, double[] reference) => variant.Zip(reference, (a, b) => a - b).Average();

    /// <summary>Ratio of mean gaps, and its 5th-95th percentile over 2000 bootstrap resamples of the sequences (seeded).</summary>
    internal static (double Ratio, double Low, double High) Ratio(double[] pal, double[] other, double[] reference)
    {
        var random = new Random(17);
        var samples = new List<double>();
        for (int s = 0; s < 2000; s++)
        {
            double a = 0, b = 0;
            for (int i = 0; i < reference.Length; i++)
            {
                int k = random.Next(reference.Length);
                a += pal[k] - reference[k];
                b += other[k] - reference[k];
            }
            samples.Add(a / b);
        }
        samples.Sort();
        return (Gap(pal, reference) / Gap(other, reference), samples[100], samples[1899]);
    }

    private static float Half(double v) => (float)(Half)(float)v;

    /// <summary>Symmetric grid [-2^(b-1), 2^(b-1)-1] x scale, one fp16 scale per block.</summary>
    private static float[] Symmetric(float[] w, int bits, int block)
    {
        var result = new float[w.Length];
        int neg = 1 << (bits - 1), pos = neg - 1;
        for (int start = 0; start < w.Length; start += block)
        {
            int end = Math.Min(w.Length, start + block);
            double min = 0, max = 0;
            for (int i = start; i < end; i++) { min = Math.Min(min, w[i]); max = Math.Max(max, w[i]); }
            float scale = Half(Math.Max(-min / neg, max / Math.Max(1, pos)));
            for (int i = start; i < end; i++)
                result[i] = scale > 0 ? (float)(Math.Clamp(Math.Round(w[i] / (double)scale), -neg, pos) * scale) : 0;
        }
        return result;
    }

    /// <summary>Asymmetric min/max grid shrunk by the factor in 1.00, 0.98 ... 0.50 with the least importance-weighted squared error.</summary>
    internal static float[] Clipped(float[] w, float[] importance, int bits, int block)
    {
        var result = new float[w.Length];
        int levels = (1 << bits) - 1;
        var candidate = new float[block];
        for (int start = 0; start < w.Length; start += block)
        {
            int end = Math.Min(w.Length, start + block);
            float min = float.MaxValue, max = float.MinValue;
            for (int i = start; i < end; i++) { min = Math.Min(min, w[i]); max = Math.Max(max, w[i]); }
            double bestError = double.PositiveInfinity;
            for (double shrink = 1.0; shrink >= 0.5 - 1e-9; shrink -= 0.02)
            {
                float offset = Half(min * shrink), scale = Half((max * shrink - (double)offset) / levels);
                double error = 0;
                for (int i = start; i < end; i++)
                {
                    double q = scale > 0 ? offset + Math.Clamp(Math.Round((w[i] - (double)offset) / scale), 0, levels) * (double)scale : offset;
                    candidate[i - start] = (float)q;
                    error += importance[i] * (w[i] - q) * (w[i] - q);
                }
                if (error < bestError) { bestError = error; Array.Copy(candidate, 0, result, start, end - start); }
            }
        }
        return result;
    }
}
