using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Afm.Compression.Quantizers;

/// <summary>
/// The vector loops of GPTQ's rounding and output error. Each lane carries one row (or one element) through exactly the
/// scalar operations, in the scalar order, with a separate multiply and add (never a fused one): the results are bit
/// for bit those of the scalar loops they replace, on any CPU, and 256-bit vectors are the same on AVX2 and AVX-512
/// machines. Vectors only change how many values each instruction carries and how often the large matrices are read.
/// </summary>
internal static class Lanes
{
    /// <summary>Rows carried together: two 256-bit vectors of doubles.</summary>
    public const int Width = 8;

    /// <summary>target[i] += source[i].</summary>
    public static void AddTo(Span<double> target, ReadOnlySpan<double> source)
    {
        int i = 0, n = target.Length, step = Vector256<double>.Count;
        ref double t = ref target[0];
        ref double s = ref Unsafe.AsRef(in source[0]);
        for (; i + step <= n; i += step)
            (Vector256.LoadUnsafe(ref t, (nuint)i) + Vector256.LoadUnsafe(ref s, (nuint)i)).StoreUnsafe(ref t, (nuint)i);
        for (; i < n; i++) target[i] += source[i];
    }

    /// <summary>target[i] += source[i] * scale.</summary>
    public static void AddScaledTo(Span<double> target, ReadOnlySpan<double> source, double scale)
    {
        int i = 0, n = target.Length, step = Vector256<double>.Count;
        ref double t = ref target[0];
        ref double s = ref Unsafe.AsRef(in source[0]);
        var c = Vector256.Create(scale);
        for (; i + step <= n; i += step)
            (Vector256.LoadUnsafe(ref t, (nuint)i) + Vector256.LoadUnsafe(ref s, (nuint)i) * c).StoreUnsafe(ref t, (nuint)i);
        for (; i < n; i++) target[i] += source[i] * scale;
    }

    /// <summary>rows[k * Width + l] -= errors[l] * factors[k] for every k of <paramref name="factors"/> and every lane l.</summary>
    public static void SubtractScaledRows(Span<double> rows, ReadOnlySpan<double> factors, double[] errors)
    {
        if (factors.IsEmpty) return;
        var e0 = Vector256.Create(errors[0], errors[1], errors[2], errors[3]);
        var e1 = Vector256.Create(errors[4], errors[5], errors[6], errors[7]);
        ref double r = ref rows[0];
        for (int k = 0; k < factors.Length; k++)
        {
            var f = Vector256.Create(factors[k]);
            nuint at = (nuint)(k * Width);
            (Vector256.LoadUnsafe(ref r, at) - e0 * f).StoreUnsafe(ref r, at);
            (Vector256.LoadUnsafe(ref r, at + 4) - e1 * f).StoreUnsafe(ref r, at + 4);
        }
    }

    /// <summary>sums[l] -= weights[k] * rows[k * Width + l] for k in ascending order, for every lane l.</summary>
    public static void SubtractDots(Span<double> sums, ReadOnlySpan<double> weights, ReadOnlySpan<double> rows) => Dots(sums, weights, rows, -1);

    /// <summary>sums[l] += weights[k] * rows[k * Width + l] for k in ascending order, for every lane l.</summary>
    public static void AddDots(Span<double> sums, ReadOnlySpan<double> weights, ReadOnlySpan<double> rows) => Dots(sums, weights, rows, 1);

    private static void Dots(Span<double> sums, ReadOnlySpan<double> weights, ReadOnlySpan<double> rows, int sign)
    {
        if (weights.IsEmpty) return;
        var s0 = Vector256.Create(sums[0], sums[1], sums[2], sums[3]);
        var s1 = Vector256.Create(sums[4], sums[5], sums[6], sums[7]);
        ref double r = ref Unsafe.AsRef(in rows[0]);
        if (sign < 0)
            for (int k = 0; k < weights.Length; k++)
            {
                var w = Vector256.Create(weights[k]);
                nuint at = (nuint)(k * Width);
                s0 -= w * Vector256.LoadUnsafe(ref r, at);
                s1 -= w * Vector256.LoadUnsafe(ref r, at + 4);
            }
        else
            for (int k = 0; k < weights.Length; k++)
            {
                var w = Vector256.Create(weights[k]);
                nuint at = (nuint)(k * Width);
                s0 += w * Vector256.LoadUnsafe(ref r, at);
                s1 += w * Vector256.LoadUnsafe(ref r, at + 4);
            }
        s0.CopyTo(sums);
        s1.CopyTo(sums[4..]);
    }
}
