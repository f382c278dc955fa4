using Afm.Compression.Quantizers;
using Afm.Core.Spec;

namespace Afm.Compression.Tests;

/// <summary>GPTQ's error-compensating rounding and the LUT refit (specs/quantization.md, "Rounding").</summary>
public class RoundingSpecs
{
    /// <summary>H = X^T X of correlated inputs (each input mixes a few shared factors), the case compensation exists for.</summary>
    internal static double[] CorrelatedSecondMoment(int columns, int tokens = 400, int seed = 3)
    {
        var random = new Random(seed);
        var factors = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, columns).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
        var h = new double[columns * columns];
        var x = new double[columns];
        for (int t = 0; t < tokens; t++)
        {
            var z = factors.Select(_ => random.NextDouble() * 2 - 1).ToArray();
            for (int c = 0; c < columns; c++) x[c] = 0.2 * (random.NextDouble() * 2 - 1) + Enumerable.Range(0, 4).Sum(f => z[f] * factors[f][c]);
            for (int i = 0; i < columns; i++)
                for (int j = 0; j < columns; j++) h[i * columns + j] += x[i] * x[j];
        }
        return h;
    }

    [Fact]
    public void With_uncorrelated_inputs_of_equal_energy_it_is_nearest_rounding()
    {
        const int columns = 24;
        var identity = new double[columns * columns];
        for (int i = 0; i < columns; i++) identity[i * columns + i] = 5;
        var values = QuantizerSpecs.Weights(40 * columns);
        var nearest = Palettizer.Palettize("w", [40, columns], values, null, 3, 16, LutType.Fp16, 1, 20);
        var compensation = new ErrorCompensation(identity, columns);
        var levels = nearest.Lut.AsSpan(0, 8).ToArray();
        var row = values.AsSpan(0, columns);
        var rounded = compensation.Round(row, (_, v) => levels[WeightedKMeans1D.Nearest(levels, (float)v)]);
        for (int c = 0; c < columns; c++) Assert.Equal(nearest.Lut[nearest.Indices[c]], rounded[c]);
    }

    [Fact]
    public void Compensated_palettization_has_a_lower_output_error_than_nearest_rounding()
    {
        const int rows = 48, columns = 32;
        var h = CorrelatedSecondMoment(columns);
        var values = QuantizerSpecs.Weights(rows * columns);
        foreach (int bits in new[] { 2, 3, 4 })
        {
            var nearest = Palettizer.Palettize("w", [rows, columns], values, null, bits, 16, LutType.Fp16, 1, 30);
            var compensated = Palettizer.Palettize("w", [rows, columns], values, null, bits, 16, LutType.Fp16, 1, 30, hessian: h);
            double before = ErrorCompensation.OutputError(values, nearest.Dequantize(), h, columns);
            double after = ErrorCompensation.OutputError(values, compensated.Dequantize(), h, columns);
            Assert.True(after < 0.8 * before, $"{bits} bits: output error {after} with compensation vs {before} nearest");
        }
    }

    [Fact]
    public void Compensated_uniform_rounding_keeps_the_grid_and_lowers_the_output_error()
    {
        const int rows = 32, columns = 32;
        var h = CorrelatedSecondMoment(columns);
        var values = QuantizerSpecs.Weights(rows * columns);
        var nearest = UniformQuantizer.Quantize("w", [rows, columns], values, 3, 64);
        var compensated = UniformQuantizer.Quantize("w", [rows, columns], values, 3, 64, h, threads: 3);
        Assert.Equal(nearest.Scale, compensated.Scale);
        Assert.Equal(nearest.Offset, compensated.Offset);
        Assert.True(ErrorCompensation.OutputError(values, compensated.Dequantize(), h, columns)
            < ErrorCompensation.OutputError(values, nearest.Dequantize(), h, columns));
    }

    [Fact]
    public void Compensated_palettization_is_deterministic_and_independent_of_threads()
    {
        const int rows = 64, columns = 32;
        var h = CorrelatedSecondMoment(columns);
        var values = QuantizerSpecs.Weights(rows * columns);
        var a = Palettizer.Palettize("w", [rows, columns], values, null, 3, 16, LutType.Int8, 9, 30, threads: 1, hessian: h);
        var b = Palettizer.Palettize("w", [rows, columns], values, null, 3, 16, LutType.Int8, 9, 30, threads: 4, hessian: h);
        Assert.Equal(a.Indices, b.Indices);
        Assert.Equal(a.Lut, b.Lut);
        Assert.Equal(a.LutInt8, b.LutInt8);
        Assert.Equal(a.LutScale, b.LutScale);
        Assert.All(a.Lut.Chunk(8), table => Assert.Equal(table.Order(), table)); // stored tables stay ascending
    }

    [Fact]
    public void The_refit_table_solves_the_least_squares_problem_of_its_assignment()
    {
        const int rows = 16, columns = 12;
        var h = CorrelatedSecondMoment(columns);
        var values = QuantizerSpecs.Weights(rows * columns);
        var compensation = new ErrorCompensation(h, columns);
        var levels = new float[] { -0.03f, -0.01f, 0.01f, 0.03f };
        var assignment = values.Select(v => (byte)WeightedKMeans1D.Nearest(levels, v)).ToArray();
        var refit = compensation.RefitLevels(values, assignment, levels);
        double Error(double[] table) => compensation.Error(values, assignment.Select(a => (float)table[a]).ToArray());
        double best = Error(refit);
        Assert.True(best <= Error(levels.Select(v => (double)v).ToArray()));
        // A stationary point: moving any entry either way raises the error.
        for (int e = 0; e < levels.Length; e++)
            foreach (double step in new[] { -1e-4, 1e-4 })
            {
                var moved = (double[])refit.Clone();
                moved[e] += step;
                Assert.True(Error(moved) >= best, $"entry {e} moved by {step}");
            }
    }

    [Fact]
    public void Rounding_a_block_of_rows_together_gives_each_row_its_own_rounding_bit_for_bit()
    {
        // 11 rows: one full group of vector lanes and a partial one, whose unused lanes must not leak into the rows.
        const int rows = 11, columns = 20;
        var h = CorrelatedSecondMoment(columns);
        var values = QuantizerSpecs.Weights(rows * columns);
        var compensation = new ErrorCompensation(h, columns);
        var levels = new float[] { -0.04f, -0.015f, 0.0f, 0.02f, 0.045f };
        Func<int, double, float> round = (_, v) => levels[WeightedKMeans1D.Nearest(levels, (float)v)];
        var together = compensation.RoundRows(values, round);
        for (int r = 0; r < rows; r++)
            Assert.Equal(compensation.Round(values.AsSpan(r * columns, columns), round), together.AsSpan(r * columns, columns).ToArray());
        Assert.NotEqual(values.Select(v => round(0, v)).ToArray(), together); // compensation moved some weights off their nearest level
    }

    [Fact]
    public void A_table_entry_no_weight_uses_keeps_its_value()
    {
        const int columns = 8;
        var h = CorrelatedSecondMoment(columns);
        var values = Enumerable.Range(0, 2 * columns).Select(i => i % 2 == 0 ? -0.01f : 0.01f).ToArray();
        var levels = new float[] { -0.01f, 0.01f, 0.5f };
        var assignment = values.Select(v => (byte)(v < 0 ? 0 : 1)).ToArray();
        var refit = new ErrorCompensation(h, columns).RefitLevels(values, assignment, levels);
        Assert.Equal(0.5, refit[2], 12);
    }
}

public class ProgressFormatSpecs
{
    [Theory]
    [InlineData(0.00016, "+0.0002")]
    [InlineData(0.0, "+0.0000")]
    [InlineData(0.00002, "+0.0000")]
    [InlineData(-0.00001, "-0.0000")]
    [InlineData(-0.0003, "-0.0003")]
    public void A_loss_change_prints_its_own_sign_and_four_decimals(double change, string printed) =>
        Assert.Equal(printed, QuantizationPipeline.SignedChange(change));
}
