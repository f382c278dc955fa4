using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;

namespace Afm.Compression.Tests;

public class QuantizerSpecs
{
    /// <summary>Heavy-tailed values (like trained weights): where a k-means LUT beats an even grid.</summary>
    internal static float[] Weights(int count, int seed = 7)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            double normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            return (float)(0.02 * normal * (random.NextDouble() < 0.05 ? 6 : 1));
        }).ToArray();
    }

    internal static double RelativeError(float[] original, float[] restored) =>
        Math.Sqrt(original.Zip(restored, (a, b) => (double)(a - b) * (a - b)).Sum() / original.Sum(a => (double)a * a));

    [Fact]
    public void Packing_round_trips_every_bit_width()
    {
        var random = new Random(1);
        for (int bits = 1; bits <= 8; bits++)
        {
            var indices = Enumerable.Range(0, 1001).Select(_ => (byte)random.Next(1 << bits)).ToArray();
            var packed = BitPacking.Pack(indices, bits);
            Assert.Equal((1001L * bits + 7) / 8, packed.Length);
            Assert.Equal(indices, BitPacking.Unpack(packed, indices.Length, bits));
        }
    }

    [Fact]
    public void Packing_is_lsb_first()
    {
        Assert.Equal(new byte[] { 0x21, 0x03 }, BitPacking.Pack([1, 2, 3], 4));
        Assert.Equal(new byte[] { 0b11_10_01_00 }, BitPacking.Pack([0, 1, 2, 3], 2));
    }

    [Fact]
    public void Palettization_uses_one_lut_of_2_to_the_bits_entries_per_group_of_rows()
    {
        var values = Weights(40 * 24);
        var p = Palettizer.Palettize("w", [40, 24], values, null, 3, 16, LutType.Fp16, 1, 20);
        Assert.Equal(3, p.Groups); // 16 + 16 + 8 rows
        Assert.Equal(3 * 8, p.Lut.Length);
        Assert.All(p.Indices, i => Assert.InRange(i, 0, 7));
        Assert.All(p.Lut, v => Assert.Equal(v, (float)(Half)v)); // fp16-exact
    }

    [Fact]
    public void Palettization_is_deterministic_for_a_seed_and_independent_of_threads()
    {
        var values = Weights(64 * 32);
        var a = Palettizer.Palettize("w", [64, 32], values, null, 4, 16, LutType.Fp16, 42, 30, threads: 1);
        var b = Palettizer.Palettize("w", [64, 32], values, null, 4, 16, LutType.Fp16, 42, 30, threads: 4);
        Assert.Equal(a.Indices, b.Indices);
        Assert.Equal(a.Lut, b.Lut);
    }

    [Fact]
    public void Effective_bits_count_the_packed_indices_and_the_fp16_luts()
    {
        var p = Palettizer.Palettize("w", [32, 128], Weights(32 * 128), null, 4, 16, LutType.Fp16, 1, 10);
        // 4 bits per weight + 2 LUTs x 16 entries x 16 bits over 4096 weights.
        Assert.Equal(4 + 2 * 16 * 16 / 4096.0, p.BitsPerWeight, 12);
        var int8Lut = Palettizer.Palettize("w", [32, 128], Weights(32 * 128), null, 4, 16, LutType.Int8, 1, 10);
        Assert.Equal(4 + (2 * 16 * 8 + 2 * 16) / 4096.0, int8Lut.BitsPerWeight, 12);
    }

    [Fact]
    public void Palettization_beats_the_uniform_grid_at_equal_effective_bits()
    {
        var values = Weights(64 * 128);
        foreach (int bits in new[] { 2, 3, 4 })
        {
            var p = Palettizer.Palettize("w", [64, 128], values, null, bits, 16, LutType.Fp16, 1, 30);
            var u = UniformQuantizer.Quantize("w", [64, 128], values, bits, UniformQuantizer.EqualOverheadBlockSize(128, 16, bits));
            Assert.Equal(p.BitsPerWeight, u.BitsPerWeight, 12);
            Assert.True(RelativeError(values, p.Dequantize()) < RelativeError(values, u.Dequantize()), $"{bits} bits");
        }
    }

    [Fact]
    public void Importance_weighting_reduces_the_error_of_important_weights()
    {
        var values = Weights(16 * 64);
        var importance = values.Select((_, i) => i % 64 < 8 ? 100f : 1f).ToArray(); // first 8 columns matter
        var plain = Palettizer.Palettize("w", [16, 64], values, null, 2, 16, LutType.Fp16, 1, 50).Dequantize();
        var weighted = Palettizer.Palettize("w", [16, 64], values, importance, 2, 16, LutType.Fp16, 1, 50).Dequantize();
        double Error(float[] r) => values.Select((v, i) => (double)importance[i] * (v - r[i]) * (v - r[i])).Sum();
        Assert.True(Error(weighted) < Error(plain));
    }

    [Fact]
    public void Int8_per_channel_is_within_half_a_step_of_every_weight()
    {
        var values = Weights(10 * 50);
        var q = Int8ChannelQuantizer.Quantize("embed.weight", [10, 50], values);
        var restored = q.Dequantize();
        for (int i = 0; i < values.Length; i++) Assert.True(Math.Abs(values[i] - restored[i]) <= q.Scale[i / 50] * 0.5 + 1e-7);
        Assert.Equal(8 + 16.0 / 50, q.BitsPerWeight, 12);
    }

    [Fact]
    public void Uniform_levels_lie_between_each_blocks_minimum_and_maximum()
    {
        var values = Weights(4 * 32);
        var u = UniformQuantizer.Quantize("w", [4, 32], values, 3, 32);
        var restored = u.Dequantize();
        for (int block = 0; block < 4; block++)
        {
            var original = values.Skip(block * 32).Take(32).ToArray();
            Assert.All(restored.Skip(block * 32).Take(32), v => Assert.InRange(v, original.Min() - 1e-3f, original.Max() + 1e-3f));
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Zero_point_blocks_are_integer_zero_points_whose_offset_is_exact_in_fp16(int bits)
    {
        var values = Weights(6 * 64, seed: bits);
        var u = UniformQuantizer.QuantizeWithZeroPoints("w", [6, 64], values, bits, 32);
        Assert.True(u.IntegerZeroPoints);
        Assert.Equal(12, u.Blocks); // two blocks per row, none crossing a row
        for (int b = 0; b < u.Blocks; b++)
        {
            Assert.Equal(Fp16.Round(u.Scale[b]), u.Scale[b]);
            var zp = ZeroPointGrid.ZeroPoint(u.Scale[b], u.Offset[b], bits);
            Assert.NotNull(zp);
            if (bits == 8) Assert.Equal(128, zp);
            Assert.Equal(Fp16.Round(u.Offset[b]), u.Offset[b]);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Zero_point_levels_are_within_half_a_step_of_every_weight_inside_the_grid(int bits)
    {
        var values = Weights(4 * 128, seed: 3);
        var u = UniformQuantizer.QuantizeWithZeroPoints("w", [4, 128], values, bits, 64);
        var restored = u.Dequantize();
        int top = (1 << bits) - 1;
        for (int i = 0; i < values.Length; i++)
        {
            float s = u.Scale[i / 64], o = u.Offset[i / 64];
            if (values[i] < o || values[i] > o + top * s) continue; // clamped at an edge the exact-scale search moved
            Assert.True(Math.Abs(values[i] - restored[i]) <= s * 0.5 + 1e-6, $"weight {i}: {values[i]} -> {restored[i]} (scale {s})");
        }
    }

    [Theory]
    [InlineData(768, 4, 128)]
    [InlineData(48, 4, 16)]
    [InlineData(96, 2, 32)]
    [InlineData(40, 4, null)]
    public void The_zero_point_block_is_the_largest_power_of_two_from_16_to_128_that_tiles_the_row(int columns, int bits, int? block) =>
        Assert.Equal(block, UniformQuantizer.ZeroPointBlockSize(columns, 16, bits));

    [Fact]
    public void The_exact_scale_is_the_nearest_fp16_whose_product_with_the_zero_point_is_fp16()
    {
        float s = ZeroPointGrid.ExactScale(13, 0.0123456);
        Assert.Equal(Fp16.Round(13.0 * s), 13 * s);
        Assert.InRange(s, 0.0123456 * (1 - 1.0 / 128), 0.0123456 * (1 + 1.0 / 128));
        Assert.Equal(Fp16.Round(0.0123456), ZeroPointGrid.ExactScale(128, 0.0123456)); // a power of two keeps the nearest fp16
    }
}
