using Afm.Compression;
using Afm.Compression.Allocation;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;

/// <summary>
/// Section 1c: SqueezeLLM's dense-and-sparse decomposition. A fraction of every linear weight is kept in fp16 as a
/// sparse list (6 bytes per entry, counted in the bits per weight) and the rest palettized with Fisher importance.
/// The uniform baselines get exactly the same bits per weight: their extra bytes go to smaller blocks (more
/// scale/offset pairs), which is what a user would do with the same budget. Same validation sequences as 1b.
/// The last columns give the uniform grid the same sparse list instead, to show how much of the gain is the sparse part alone.
/// </summary>
internal static class SparseComparison
{
    public static void Run(IReadOnlyList<LayerPlan> linear, IReadOnlyDictionary<string, float[]> original,
        IReadOnlyDictionary<string, float[]> importance, long seed, int threads, int iterations, double[] fractions,
        Func<Func<LayerPlan, float[]?>, double[]> losses)
    {
        var floatLosses = losses(_ => null);
        Console.WriteLine("1c. dense-and-sparse: gaps in nats/token vs float, every linear layer at b bits, uniform at the same total bits per weight");
        Console.WriteLine("bits | kept fraction | bpw | gap pal+sparse | gap uniform min/max | ratio [90%] | gap uniform Fisher-clip | ratio [90%] | gap uniform min/max + same sparse | ratio [90%]");
        foreach (int bits in new[] { 4, 3 })
        foreach (double fraction in fractions)
        {
            var pal = new Dictionary<string, float[]>();
            var uni = new Dictionary<string, float[]>();
            var clip = new Dictionary<string, float[]>();
            var uniSparse = new Dictionary<string, float[]>();
            long bytes = 0, count = 0;
            foreach (var l in linear)
            {
                var w = original[l.WeightName];
                var imp = importance[l.WeightName];
                var kept = DenseAndSparse.Select(w, imp, fraction);
                var p = Palettizer.Palettize(l.WeightName, l.Shape, w, DenseAndSparse.Exclude(w.Length, imp, kept), bits, 16, LutType.Fp16, seed, iterations, threads);
                var dense = p.Dequantize();
                DenseAndSparse.Apply(dense, kept, DenseAndSparse.Values(w, kept));
                pal[l.WeightName] = dense;
                long stored = p.StorageBytes + (long)kept.Length * DenseAndSparse.BytesPerEntry;
                bytes += stored; count += w.Length;
                long overheadBits = 8 * (stored - BitPacking.PackedLength(w.Length, bits));
                int block = (int)Math.Max(1, (w.Length + overheadBits / 32 - 1) / Math.Max(1, overheadBits / 32));
                uni[l.WeightName] = UniformQuantizer.Quantize(l.WeightName, l.Shape, w, bits, block).Dequantize();
                clip[l.WeightName] = FairComparison.Clipped(w, imp, bits, block);
                // The same sparse list on top of a uniform grid with the palettization's block overhead: does the sparse part alone close the gap?
                var plainBlock = LayerQuantizer.UniformAtEqualBits(p, w).Dequantize();
                DenseAndSparse.Apply(plainBlock, kept, DenseAndSparse.Values(w, kept));
                uniSparse[l.WeightName] = plainBlock;
            }
            var palLosses = losses(l => pal.GetValueOrDefault(l.WeightName));
            var uniLosses = losses(l => uni.GetValueOrDefault(l.WeightName));
            var clipLosses = losses(l => clip.GetValueOrDefault(l.WeightName));
            var uniSparseLosses = losses(l => uniSparse.GetValueOrDefault(l.WeightName));
            var (r1, lo1, hi1) = FairComparison.Ratio(palLosses, uniLosses, floatLosses);
            var (r2, lo2, hi2) = FairComparison.Ratio(palLosses, clipLosses, floatLosses);
            var (r3, lo3, hi3) = FairComparison.Ratio(palLosses, uniSparseLosses, floatLosses);
            Console.WriteLine($"{bits,4} | {fraction,13:P2} | {8.0 * bytes / count:F4} | {FairComparison.Gap(palLosses, floatLosses),9:F6} | " +
                $"{FairComparison.Gap(uniLosses, floatLosses),9:F6} | {r1:F3} [{lo1:F3}, {hi1:F3}] | {FairComparison.Gap(clipLosses, floatLosses),9:F6} | {r2:F3} [{lo2:F3}, {hi2:F3}] | " +
                $"{FairComparison.Gap(uniSparseLosses, floatLosses),9:F6} | {r3:F3} [{lo3:F3}, {hi3:F3}]");
        }
    }
}
