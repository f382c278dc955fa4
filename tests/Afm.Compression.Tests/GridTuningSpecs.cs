using Afm.Compression.Calibration;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Training.Stages;

namespace Afm.Compression.Tests;

/// <summary>End-to-end tuning of LUT entries and uniform scales/offsets against the float model (specs/quantization.md, "Grid tuning").</summary>
public class GridTuningSpecs
{
    private const int Steps = 40;
    private const double Rate = 0.02;

    /// <summary>Every projection of the micro model at 2 bits (large errors), nearest rounding, and the int8 embedding.</summary>
    private static List<QuantizedTensor> Quantized(bool uniform, bool zeroPoints = false, bool zeroPointTables = false)
    {
        using var model = Trainer.LoadModel(MicroModel.Architecture, MicroModel.WeightsPath);
        return ModelWeights.Read(model).Where(w => w.Shape.Length == 2).Select(w => w.Name == "embed.weight"
            ? (QuantizedTensor)Int8ChannelQuantizer.Quantize(w.Name, w.Shape, w.Values)
            : zeroPoints ? UniformQuantizer.QuantizeWithZeroPoints(w.Name, w.Shape, w.Values, 2, UniformQuantizer.ZeroPointBlockSize(w.Shape[1], 16, 2)!.Value)
            : uniform ? UniformQuantizer.Quantize(w.Name, w.Shape, w.Values, 2, UniformQuantizer.EqualOverheadBlockSize(w.Shape[1], 16, 2))
            : Palettizer.Palettize(w.Name, w.Shape, w.Values, null, 2, 16, LutType.Fp16, 5, 30, zeroPointTables: zeroPointTables)).ToList();
    }

    private static (IReadOnlyList<QuantizedTensor> Tuned, double Before, double After) Tune(List<QuantizedTensor> quantized, int steps = Steps)
    {
        using var model = Trainer.LoadModel(MicroModel.Architecture, MicroModel.WeightsPath);
        using var reference = Trainer.LoadModel(MicroModel.Architecture, MicroModel.WeightsPath);
        var train = MicroModel.Data("train");
        var floatWeights = ModelWeights.Read(model);
        var tuned = GridTuning.Tune(model, floatWeights.ToDictionary(w => w.Name, w => w.Values), train, Enumerable.Range(0, 160).Select(i => (long)i).ToList(), [200, 210, 220, 230],
            quantized, steps, Rate);
        Assert.Equal(floatWeights.Select(w => w.Values), ModelWeights.Read(model).Select(w => w.Values)); // the float weights are back

        // Judged on held-out sequences the tuning never saw.
        var valid = MicroModel.Data("valid");
        var all = Enumerable.Range(0, (int)valid.Count).Select(i => (long)i).ToList();
        double Divergence(IReadOnlyList<QuantizedTensor> weights)
        {
            foreach (var w in weights) ModelWeights.Set(model, w.Name, w.Dequantize());
            double kl = Evaluator.MeanLossAndDivergence(reference, model, valid, all).Divergence;
            foreach (var w in floatWeights) ModelWeights.Set(model, w.Name, w.Values);
            return kl;
        }
        return (tuned, Divergence(quantized), Divergence(tuned));
    }

    [Fact]
    public void Tuned_lookup_tables_bring_the_model_closer_to_float_in_the_same_format()
    {
        var quantized = Quantized(uniform: false);
        var (tuned, before, after) = Tune(quantized);
        Assert.True(after < 0.8 * before, $"held-out KL {after} after tuning vs {before} before");
        foreach (var (q, t) in quantized.Zip(tuned))
        {
            Assert.Equal(q.StorageBytes, t.StorageBytes);
            if (q is not PalettizedTensor p) { Assert.Same(q, t); continue; }
            var pt = Assert.IsType<PalettizedTensor>(t);
            Assert.NotEqual(p.Lut, pt.Lut);
            for (int g = 0; g < pt.Groups; g++)
            {
                var table = pt.Lut.AsSpan(g * pt.Entries, pt.Entries).ToArray();
                Assert.Equal(table.Order(), table); // ascending, as the format keeps them
                Assert.All(table, v => Assert.Equal(Fp16.Round(v), v));
            }
        }
    }

    [Fact]
    public void Tuned_uniform_scales_and_offsets_bring_the_model_closer_to_float()
    {
        var quantized = Quantized(uniform: true);
        var (tuned, before, after) = Tune(quantized);
        Assert.True(after < 0.8 * before, $"held-out KL {after} after tuning vs {before} before");
        foreach (var (q, t) in quantized.OfType<UniformTensor>().Zip(tuned.OfType<UniformTensor>()))
        {
            Assert.Equal(q.Indices, t.Indices);
            Assert.All(t.Scale.Concat(t.Offset), v => Assert.Equal(Fp16.Round(v), v));
        }
    }

    [Fact]
    public void Tuned_zero_point_scales_bring_the_model_closer_to_float_and_keep_every_zero_point()
    {
        var quantized = Quantized(uniform: true, zeroPoints: true);
        var (tuned, before, after) = Tune(quantized);
        Assert.True(after < 0.8 * before, $"held-out KL {after} after tuning vs {before} before");
        foreach (var (q, t) in quantized.OfType<UniformTensor>().Zip(tuned.OfType<UniformTensor>()))
        {
            Assert.True(t.IntegerZeroPoints);
            Assert.Equal(q.Indices, t.Indices);
            Assert.NotEqual(q.Scale, t.Scale);
            for (int b = 0; b < t.Blocks; b++)
                Assert.Equal(ZeroPointGrid.ZeroPoint(q.Scale[b], q.Offset[b], 2), ZeroPointGrid.ZeroPoint(t.Scale[b], t.Offset[b], 2));
        }
    }

    [Fact]
    public void Tuned_zero_point_tables_bring_the_model_closer_to_float_and_stay_zero_point_grids()
    {
        var quantized = Quantized(uniform: false, zeroPointTables: true);
        var (tuned, before, after) = Tune(quantized);
        Assert.True(after < 0.8 * before, $"held-out KL {after} after tuning vs {before} before");
        foreach (var (q, t) in quantized.OfType<PalettizedTensor>().Zip(tuned.OfType<PalettizedTensor>()))
        {
            Assert.True(t.ZeroPointTables);
            Assert.Equal(q.Indices, t.Indices);
            Assert.NotEqual(q.Lut, t.Lut);
            for (int g = 0; g < t.Groups; g++)
                Assert.Equal(ZeroPointPalette.Of(q.Lut.AsSpan(g * q.Entries, q.Entries))!.Value.ZeroPoint,
                    ZeroPointPalette.Of(t.Lut.AsSpan(g * t.Entries, t.Entries))?.ZeroPoint);
        }
    }

    [Fact]
    public void Tuning_is_deterministic_and_zero_steps_change_nothing()
    {
        var quantized = Quantized(uniform: false);
        var a = Tune(quantized, 10).Tuned.OfType<PalettizedTensor>().ToList();
        var b = Tune(quantized, 10).Tuned.OfType<PalettizedTensor>().ToList();
        Assert.Equal(a.Select(t => t.Lut), b.Select(t => t.Lut));
        Assert.Equal(a.Select(t => t.Indices), b.Select(t => t.Indices));
        Assert.Same(quantized, Tune(quantized, 0).Tuned);
    }

    [Fact]
    public void New_tables_are_sorted_and_indices_follow_their_entries()
    {
        var p = new PalettizedTensor("w", [2, 2], 2, 2, [0, 1, 2, 3], [0.1f, 0.2f, 0.3f, 0.4f], null, null);
        var moved = Palettizer.WithTables(p, [0.5f, 0.2f, -0.1f, 0.4f]);
        Assert.Equal([Fp16.Round(-0.1), Fp16.Round(0.2), Fp16.Round(0.4), Fp16.Round(0.5)], moved.Lut);
        Assert.Equal(new[] { Fp16.Round(0.5), Fp16.Round(0.2), Fp16.Round(-0.1), Fp16.Round(0.4) }, moved.Dequantize());
    }
}
