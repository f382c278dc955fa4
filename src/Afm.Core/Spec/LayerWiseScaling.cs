namespace Afm.Core.Spec;

/// <summary>
/// OpenELM's layer-wise scaling (Apple's <c>configuration_openelm.py</c>; specs/afmproj.md, "Layer-wise scaling"): each
/// layer's query heads, key/value heads and SwiGLU width from a head width and two multipliers ramped linearly from the
/// first layer to the last. One implementation for projects trained from scratch and for checkpoints that state the
/// multipliers (an imported OpenELM's FFN widths come from its <c>ffn_multipliers</c> the same way).
/// </summary>
public static class LayerWiseScaling
{
    /// <summary>OpenELM's defaults (its released models: qkv 0.5 to 1.0, FFN 0.5 to 4.0, 4 query heads per key/value head, widths in multiples of 256).</summary>
    public static readonly IReadOnlyList<double> DefaultQkvMultipliers = [0.5, 1.0];
    public static readonly IReadOnlyList<double> DefaultFfnMultipliers = [0.5, 4.0];
    public const int DefaultGqaGroups = 4;
    public const int DefaultFfnDimDivisor = 256;

    /// <summary>
    /// The per-layer multipliers: one value for every layer, or two ramped linearly (numpy's linspace) from the first layer
    /// to the last and rounded to two decimals as OpenELM rounds them (<c>round(v, 2)</c> on a float64: half to even of v x 100).
    /// </summary>
    public static double[] Multipliers(IReadOnlyList<double> given, int layers)
    {
        if (given.Count is < 1 or > 2) throw new ArgumentException("One multiplier, or two (first and last layer).", nameof(given));
        // One value applies as it is (OpenELM rounds only the ramp); so does the first of a ramp over one layer.
        if (given.Count == 1 || layers == 1) return Enumerable.Repeat(given[0], layers).ToArray();
        double first = given[0], last = given[1], step = (last - first) / (layers - 1);
        // numpy's linspace: start + i * step, and the stop itself for the last one.
        return Enumerable.Range(0, layers)
            .Select(i => Math.Round((i == layers - 1 ? last : first + i * step) * 100, MidpointRounding.ToEven) / 100)
            .ToArray();
    }

    /// <summary>
    /// OpenELM's <c>make_divisible</c> (from TensorFlow's MobileNet): <paramref name="value"/> rounded to the nearest
    /// multiple of <paramref name="divisor"/> (halves up), at least the divisor, and one divisor more when rounding lost
    /// more than 10%.
    /// </summary>
    public static long MakeDivisible(double value, long divisor)
    {
        long rounded = Math.Max(divisor, (long)Math.Floor(value + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }

    /// <summary>
    /// Every layer's shape: query width <c>make_divisible(ModelDim x qkv_i, HeadDim x GqaGroups)</c>, so
    /// <c>Heads_i = width / HeadDim</c> is a multiple of GqaGroups and <c>KvHeads_i = Heads_i / GqaGroups</c>;
    /// <c>FfnDim_i = make_divisible(ModelDim x ffn_i, FfnDimDivisor)</c>.
    /// </summary>
    public static IReadOnlyList<LayerShape> Shapes(int modelDim, int layers, int headDim, IReadOnlyList<double> qkvMultipliers,
        IReadOnlyList<double> ffnMultipliers, int gqaGroups, int ffnDimDivisor)
    {
        var qkv = Multipliers(qkvMultipliers, layers);
        var ffn = Multipliers(ffnMultipliers, layers);
        return Enumerable.Range(0, layers).Select(i =>
        {
            long heads = MakeDivisible(modelDim * qkv[i], (long)headDim * gqaGroups) / headDim;
            long ffnDim = MakeDivisible(modelDim * ffn[i], ffnDimDivisor);
            return new LayerShape(checked((int)heads), checked((int)(heads / gqaGroups)), checked((int)ffnDim));
        }).ToList();
    }
}
