namespace Afm.Compression.Quantizers;

/// <summary>
/// A uniform grid with an integer zero point, as GPTQ/AWQ and ONNX Runtime's MatMulNBits use: <c>w = (index - zp) x scale</c>.
/// The quantize stage stores the grid as fp16 <c>scale</c> and <c>offset = -zp x scale</c>; for the stored offset to mean
/// exactly that, <c>zp x scale</c> must be an fp16 value, which <see cref="ExactScale"/> ensures by moving the scale to the
/// nearest fp16 value for which the product is exact. A power-of-two zero point makes every scale exact.
/// </summary>
public static class ZeroPointGrid
{
    /// <summary>
    /// The (scale, offset) of a block whose values span [<paramref name="min"/>, <paramref name="max"/>]. 2 and 4 bits: the
    /// range widened to hold 0, <c>zp = round(-min / scale)</c>. 8 bits: symmetric, <c>zp = 128</c>, scale = max|w| / 127:
    /// an odd 8-bit zero point would leave the fp16 scale only 3 free mantissa bits, a power of two leaves all 11.
    /// </summary>
    public static (float Scale, float Offset) Fit(float min, float max, int bits)
    {
        int levels = (1 << bits) - 1;
        double low = Math.Min(min, 0.0), high = Math.Max(max, 0.0);
        int zeroPoint;
        double ideal;
        if (bits == 8)
        {
            zeroPoint = 128;
            ideal = Math.Max(-low, high) / 127;
        }
        else
        {
            ideal = (high - low) / levels;
            zeroPoint = ideal > 0 ? (int)Math.Clamp(Math.Round(-low / ideal, MidpointRounding.ToEven), 0, levels) : 0;
        }
        float scale = ExactScale(zeroPoint, ideal);
        return (scale, 0f - zeroPoint * scale);
    }

    /// <summary>The integer zero point of a stored (scale, offset), or null when offset is not exactly -zp x scale with zp in [0, 2^bits).</summary>
    public static int? ZeroPoint(float scale, float offset, int bits)
    {
        if (scale == 0) return offset == 0 ? 0 : null;
        double zp = Math.Round(-(double)offset / scale);
        return zp >= 0 && zp < (1 << bits) && -(float)(zp * scale) == offset ? (int)zp : null;
    }

    /// <summary>The fp16 value nearest to <paramref name="ideal"/> (>= 0) whose product with <paramref name="zeroPoint"/> is an fp16 value.</summary>
    public static float ExactScale(int zeroPoint, double ideal)
    {
        var start = (Half)Math.Max(0, ideal);
        if (Exact(zeroPoint, start)) return (float)start;
        ushort bits = BitConverter.HalfToUInt16Bits(start);
        float best = 0;
        double bestDistance = double.MaxValue;
        // The exact neighbours are at most 2^8 units apart (an 8-bit odd zero point); look both ways for the closer one.
        for (int step = 1; step <= 512; step++)
            foreach (int candidate in new[] { bits - step, bits + step })
            {
                if (candidate is < 0 or >= 0x7C00) continue;
                var h = BitConverter.UInt16BitsToHalf((ushort)candidate);
                if (Exact(zeroPoint, h) && Math.Abs((double)h - ideal) < bestDistance) { best = (float)h; bestDistance = Math.Abs((double)h - ideal); }
            }
        return best;
    }

    private static bool Exact(int zeroPoint, Half scale)
    {
        float product = zeroPoint * (float)scale;
        return float.IsFinite(product) && (float)(Half)product == product;
    }
}
