namespace Afm.Compression.Quantizers;

/// <summary>Rounding to IEEE half precision (round to nearest even), the type LUTs and scales are stored in.</summary>
internal static class Fp16
{
    public static float Round(double value) => (float)(Half)(float)value;
}
