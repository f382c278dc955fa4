using Afm.Compression;
using Afm.Compression.Allocation;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;

/// <summary>
/// Section 1d: how much does a gap move when nothing of substance changes? The bootstrap intervals of 1b/1c cover the
/// choice of validation sequences only. Here the quantization itself is re-drawn at (almost) the same bits per weight:
/// the palettization with other k-means++ seeds, the uniform baseline with its block one weight shorter or longer.
/// If these spreads are as large as the differences between methods, those differences are not evidence.
/// </summary>
internal static class RealizationNoise
{
    public static void Run(IReadOnlyList<LayerPlan> linear, IReadOnlyDictionary<string, float[]> original,
        IReadOnlyDictionary<string, float[]> importance, long seed, int threads, int iterations,
        Func<Func<LayerPlan, float[]?>, double[]> losses)
    {
        var floatLosses = losses(_ => null);
        Console.WriteLine("1d. realization noise: gap in nats/token vs float when the quantization is re-drawn at the same bits");
        Console.WriteLine("bits | palettized (Fisher) gaps, seeds +0..+3 | uniform min/max gaps, block -1 / 0 / +1 | ratio range over all pairs");
        foreach (int bits in new[] { 4, 3 })
        {
            var palGaps = new List<double>();
            var uniGaps = new List<double>();
            PalettizedTensor Pal(LayerPlan l, long s) => Palettizer.Palettize(l.WeightName, l.Shape, original[l.WeightName],
                importance[l.WeightName], bits, 16, LutType.Fp16, s, iterations, threads);
            for (long s = 0; s < 4; s++)
            {
                var pal = linear.ToDictionary(l => l.WeightName, l => Pal(l, seed + s).Dequantize());
                palGaps.Add(FairComparison.Gap(losses(l => pal.GetValueOrDefault(l.WeightName)), floatLosses));
            }
            var blocks = linear.ToDictionary(l => l.WeightName, l => LayerQuantizer.EqualBitsBlockSize(Pal(l, seed)));
            for (int d = -1; d <= 1; d++)
            {
                var uni = linear.ToDictionary(l => l.WeightName,
                    l => UniformQuantizer.Quantize(l.WeightName, l.Shape, original[l.WeightName], bits, blocks[l.WeightName] + d).Dequantize());
                uniGaps.Add(FairComparison.Gap(losses(l => uni.GetValueOrDefault(l.WeightName)), floatLosses));
            }
            var ratios = palGaps.SelectMany(p => uniGaps.Select(u => p / u)).ToList();
            Console.WriteLine($"{bits,4} | {string.Join(" ", palGaps.Select(g => g.ToString("F6")))} | {string.Join(" ", uniGaps.Select(g => g.ToString("F6")))} | " +
                $"{ratios.Min():F3} .. {ratios.Max():F3}");
        }
    }
}
