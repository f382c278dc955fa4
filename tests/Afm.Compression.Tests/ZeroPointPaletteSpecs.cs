using Afm.Compression.Calibration;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Training.Stages;
using Xunit.Abstractions;

namespace Afm.Compression.Tests;

/// <summary>Palettes constrained to a zero-point grid (RuntimeForm="nbits" with Method="palettize"; specs/quantization.md, "Runtime form").</summary>
public class ZeroPointPaletteSpecs(ITestOutputHelper output)
{
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Every_entry_is_its_index_minus_an_integer_zero_point_times_one_scale_and_an_fp16_value(int bits)
    {
        var table = ZeroPointPalette.Fit(QuantizerSpecs.Weights(4096, seed: bits), default, bits, maxIterations: 30);
        Assert.Equal(1 << bits, table.Length);
        var (scale, zeroPoint) = ZeroPointPalette.Of(table.Select(e => (float)e).ToArray()) ?? throw new Xunit.Sdk.XunitException("not a zero-point grid");
        Assert.True(scale > 0);
        Assert.InRange(zeroPoint, 0, (1 << bits) - 1);
        Assert.All(table, e => Assert.Equal(Fp16.Round(e), (float)e));
    }

    [Fact]
    public void The_fitted_grid_clips_outliers_when_that_lowers_the_squared_error_below_the_range_grid()
    {
        var values = QuantizerSpecs.Weights(4096, seed: 3); // 5% of the values six times wider
        var fitted = ZeroPointPalette.Fit(values, default, 4, maxIterations: 30);
        var (rangeScale, rangeOffset) = ZeroPointGrid.Fit(values.Min(), values.Max(), 4);
        var range = Enumerable.Range(0, 16).Select(e => (double)(rangeOffset + e * rangeScale)).ToArray();
        double Error(double[] grid) => values.Sum(v => grid.Min(g => (v - g) * (v - g)));
        Assert.True(Error(fitted) < 0.8 * Error(range), $"fitted {Error(fitted)} vs range {Error(range)}");
        Assert.True(fitted[^1] - fitted[0] < range[^1] - range[0]);
    }

    [Fact]
    public void An_nbits_palettize_plan_keeps_every_table_a_zero_point_grid()
    {
        var plan = MicroModel.Plan(target: null) with { RuntimeForm = RuntimeForm.NBits };
        var result = MicroModel.Quantize(plan);
        var palettes = result.Weights.OfType<PalettizedTensor>().ToList();
        // The report says so: every palette runs as MatMulNBits, the int8 embedding as GatherBlockQuantized, below float's bytes.
        Assert.All(result.Report.Layers.Where(l => l.Format == "palettize"), l => Assert.Equal(RuntimeForms.MatMulNBits, l.RuntimeForm));
        Assert.Equal(RuntimeForms.GatherBlockQuantized, result.Report.Layers.Single(l => l.Name == "embed").RuntimeForm);
        Assert.InRange(result.Report.Totals.ResidentBytes, 1, result.Report.Totals.FloatBytes / 3);
        Assert.Equal(7 * MicroModel.Architecture.Layers, palettes.Count);
        Assert.All(palettes, p =>
        {
            Assert.True(p.ZeroPointTables, p.Name);
            for (int g = 0; g < p.Groups; g++) Assert.NotNull(ZeroPointPalette.Of(p.Lut.AsSpan(g * p.Entries, p.Entries)));
        });
    }

    /// <summary>
    /// The accuracy cost of the constraint, measured on the micro model at 4 and 2 bits with the stage's defaults (GPTQ, tuning):
    /// KL(float || quantized) on the validation split of free k-means palettes, of the same palettes refitted afterwards to
    /// their nearest zero-point grids (indices kept), of zero-point palettes built so, and of uniform nbits blocks.
    /// </summary>
    [Theory]
    [InlineData(4)]
    [InlineData(2)]
    public void Constraining_the_palette_at_quantize_time_beats_refitting_k_means_tables_afterwards_and_costs_accuracy_against_free_k_means(int bits)
    {
        var plan = MicroModel.Plan(target: null) with { Bits = bits, LowBits = bits, TuningSteps = 20 };
        var free = MicroModel.Quantize(plan).Weights;
        var constrained = MicroModel.Quantize(plan with { RuntimeForm = RuntimeForm.NBits }).Weights;
        var uniform = MicroModel.Quantize(plan with { Method = QuantizationMethod.Uniform, RuntimeForm = RuntimeForm.NBits }).Weights;
        var refitted = free.Select(w => w is PalettizedTensor p ? NearestZeroPointRefit(p) : w).ToList();
        double kFree = Divergence(free), kRefit = Divergence(refitted), kConstrained = Divergence(constrained), kUniform = Divergence(uniform);
        output.WriteLine($"{bits} bits, KL(float || quantized): free k-means {kFree:E2} ({Bpw(free):F3} bpw stored), its nearest zero-point refit "
            + $"{kRefit:E2}, zero-point palette {kConstrained:E2} ({Bpw(constrained):F3}), uniform nbits {kUniform:E2} ({Bpw(uniform):F3})");
        Assert.True(kConstrained < kRefit, $"constrained {kConstrained} vs refitted {kRefit}");
        Assert.True(kConstrained > kFree, $"constrained {kConstrained} vs free {kFree}");
    }

    private static double Bpw(IReadOnlyList<QuantizedTensor> weights)
    {
        var quantized = weights.Where(w => w is PalettizedTensor or UniformTensor).ToList();
        return 8.0 * quantized.Sum(w => w.StorageBytes) / quantized.Sum(w => w.Count);
    }

    /// <summary>Each table replaced by the zero-point grid nearest to it in least squares, weighted by how many weights use each entry.</summary>
    private static PalettizedTensor NearestZeroPointRefit(PalettizedTensor p)
    {
        var lut = new float[p.Lut.Length];
        long rowsPerGroup = p.GroupSize * p.Columns;
        for (int g = 0; g < p.Groups; g++)
        {
            var uses = new double[p.Entries];
            for (long i = g * rowsPerGroup; i < Math.Min(p.Count, (g + 1) * rowsPerGroup); i++) uses[p.Indices[i]]++;
            double sw = uses.Sum(), su = 0, sv = 0, suu = 0, suv = 0;
            for (int e = 0; e < p.Entries; e++)
            {
                double v = p.Lut[g * p.Entries + e];
                su += uses[e] * e; sv += uses[e] * v; suu += uses[e] * e * e; suv += uses[e] * e * v;
            }
            double b = (suv - su * sv / sw) / (suu - su * su / sw), a = (sv - b * su) / sw;
            int zp = (int)Math.Clamp(Math.Round(-a / b), 0, p.Entries - 1);
            double num = 0, den = 0;
            for (int e = 0; e < p.Entries; e++) { num += uses[e] * p.Lut[g * p.Entries + e] * (e - zp); den += uses[e] * (e - zp) * (e - zp); }
            var table = ZeroPointPalette.Entries(p.IndexBits, zp, ZeroPointPalette.LutScale(p.IndexBits, zp, Math.Max(0, num / den)));
            for (int e = 0; e < p.Entries; e++) lut[g * p.Entries + e] = (float)table[e];
        }
        return p with { Lut = lut, ZeroPointTables = true };
    }

    private static double Divergence(IReadOnlyList<QuantizedTensor> weights)
    {
        using var model = Trainer.LoadModel(MicroModel.Architecture, MicroModel.WeightsPath);
        using var reference = Trainer.LoadModel(MicroModel.Architecture, MicroModel.WeightsPath);
        foreach (var w in weights) ModelWeights.Set(model, w.Name, w.Dequantize());
        var valid = MicroModel.Data("valid");
        return Evaluator.MeanLossAndDivergence(reference, model, valid, Enumerable.Range(0, (int)valid.Count).Select(i => (long)i).ToList()).Divergence;
    }
}
