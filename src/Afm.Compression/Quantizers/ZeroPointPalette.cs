namespace Afm.Compression.Quantizers;

/// <summary>
/// A palette (one group's LUT) constrained to an evenly spaced grid with an integer zero point, <c>entry[e] = (e - zp) x scale</c>,
/// every entry an fp16 value: the form ONNX Runtime's MatMulNBits runs exactly (RuntimeForm="nbits" with Method="palettize").
/// The stored format stays the palette's (indices + fp16 LUT); only the entries are constrained, so the exporter can hand the
/// indices to MatMulNBits unchanged with one (scale, zp) per group. k-means puts its entries where the weights are dense; this
/// grid cannot, and the measured accuracy cost is in specs/quantization.md ("Runtime form").
/// </summary>
public static class ZeroPointPalette
{
    /// <summary>
    /// Importance-weighted Lloyd iterations on the grid: each value goes to its nearest level (clamped to the grid), then the
    /// (offset, scale) line through the assignment is refitted by weighted least squares, the zero point rounded to an integer
    /// and the scale refitted for it. Starts from the range (widened to hold 0), so it only ever clips outliers when that
    /// lowers the weighted squared error. Deterministic: no random draw, the same values give the same grid.
    /// </summary>
    /// <returns>The 2^bits entries, ascending.</returns>
    public static double[] Fit(ReadOnlySpan<float> values, ReadOnlySpan<float> importance, int bits, int maxIterations)
    {
        int levels = (1 << bits) - 1;
        float min = float.MaxValue, max = float.MinValue;
        foreach (var v in values) { min = Math.Min(min, v); max = Math.Max(max, v); }
        var (scale, offset) = ZeroPointGrid.Fit(min, max, bits);
        double s = scale;
        int zp = s > 0 ? (int)Math.Round(-offset / s) : 0;
        double bestError = WeightedError(values, importance, zp, s, levels);
        for (int iteration = 0; iteration < maxIterations && s > 0; iteration++)
        {
            // Least squares of value on index over the current assignment: value ~ a + index x b.
            double sw = 0, su = 0, sv = 0, suu = 0, suv = 0;
            for (int i = 0; i < values.Length; i++)
            {
                double w = importance.IsEmpty ? 1 : importance[i], v = values[i];
                double u = Math.Clamp(Math.Round(v / s + zp, MidpointRounding.ToEven), 0, levels);
                sw += w; su += w * u; sv += w * v; suu += w * u * u; suv += w * u * v;
            }
            double variance = suu - su * su / sw;
            if (!(variance > 0)) break;
            double b = (suv - su * sv / sw) / variance, a = (sv - b * su) / sw;
            if (!(b > 0)) break;
            int nextZp = (int)Math.Clamp(Math.Round(-a / b, MidpointRounding.ToEven), 0, levels);
            // Given the integer zero point, the scale minimising sum w (v - (u - zp) s)^2 over the same assignment.
            double num = 0, den = 0;
            for (int i = 0; i < values.Length; i++)
            {
                double w = importance.IsEmpty ? 1 : importance[i], v = values[i];
                double u = Math.Clamp(Math.Round(v / s + zp, MidpointRounding.ToEven), 0, levels) - nextZp;
                num += w * v * u; den += w * u * u;
            }
            if (!(den > 0) || !(num > 0)) break;
            double nextS = num / den;
            double error = WeightedError(values, importance, nextZp, nextS, levels);
            if (!(error < bestError * (1 - 1e-9))) break;
            (s, zp, bestError) = (nextS, nextZp, error);
        }
        return Entries(bits, zp, LutScale(bits, zp, s));
    }

    /// <summary>The entries <c>(e - zp) x scale</c> for e = 0 .. 2^bits - 1.</summary>
    public static double[] Entries(int bits, int zeroPoint, float scale) =>
        Enumerable.Range(0, 1 << bits).Select(e => (double)((e - zeroPoint) * scale)).ToArray();

    /// <summary>
    /// The fp16 value nearest to <paramref name="ideal"/> (>= 0) for which every entry <c>(e - zp) x scale</c> is an fp16
    /// value: at 4 bits that leaves the scale about 7 significant bits (|e - zp| takes up to 4 of fp16's 11), a move of under 0.4%.
    /// </summary>
    public static float LutScale(int bits, int zeroPoint, double ideal)
    {
        var start = (Half)Math.Max(0, ideal);
        if (Exact(bits, zeroPoint, start)) return (float)start;
        ushort code = BitConverter.HalfToUInt16Bits(start);
        // Exact neighbours are at most 2^(bits + 1) codes apart; the first one found each way is the closest on that side.
        for (int step = 1; step <= 1 << 10; step++)
        {
            float? best = null;
            foreach (int candidate in new[] { code - step, code + step })
            {
                if (candidate is < 0 or >= 0x7C00) continue;
                var h = BitConverter.UInt16BitsToHalf((ushort)candidate);
                if (Exact(bits, zeroPoint, h) && (best is null || Math.Abs((double)h - ideal) < Math.Abs((double)best.Value - ideal))) best = (float)h;
            }
            if (best is { } found) return found;
        }
        return 0;
    }

    /// <summary>The (scale, zero point) of a table whose entries are exactly <c>(e - zp) x scale</c>, or null.</summary>
    public static (float Scale, int ZeroPoint)? Of(ReadOnlySpan<float> table)
    {
        float scale = table[1] - table[0];
        if (!(scale >= 0) || !float.IsFinite(scale)) return null;
        double zp = scale == 0 ? 0 : Math.Round(-(double)table[0] / scale);
        if (zp < 0 || zp >= table.Length) return null;
        for (int e = 0; e < table.Length; e++)
            if ((e - (int)zp) * scale != table[e]) return null;
        return (scale, (int)zp);
    }

    private static bool Exact(int bits, int zeroPoint, Half scale)
    {
        for (int e = 0; e < 1 << bits; e++)
        {
            float entry = (e - zeroPoint) * (float)scale;
            if (!float.IsFinite(entry) || (float)(Half)entry != entry) return false;
        }
        return true;
    }

    private static double WeightedError(ReadOnlySpan<float> values, ReadOnlySpan<float> importance, int zp, double s, int levels)
    {
        double error = 0;
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i], q = s > 0 ? (Math.Clamp(Math.Round(v / s + zp, MidpointRounding.ToEven), 0, levels) - zp) * s : 0;
            error += (importance.IsEmpty ? 1 : importance[i]) * (v - q) * (v - q);
        }
        return error;
    }
}
