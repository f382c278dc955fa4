using System.Globalization;
using Afm.Core.Spec.Resources;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// The head width and layer-wise scaling properties (specs/afmproj.md, "Layer-wise scaling"): <c>HeadDim</c>, and with
/// <c>LayerWiseScaling=true</c> the per-layer shapes OpenELM's parameterization gives (<see cref="LayerWiseScaling"/>).
/// </summary>
internal static class LayerWiseScalingReader
{
    /// <summary>
    /// The largest multiplier: 64 x the largest sane ModelDim stays far inside every integer the shapes are held in, and the
    /// resource check refuses any width it gives beyond a sane model (OpenELM's multipliers are at most 4).
    /// </summary>
    public const double MaxMultiplier = 64;

    /// <summary>The properties that only mean something with LayerWiseScaling=true.</summary>
    private static readonly string[] ScalingProperties = ["QkvMultipliers", "FfnMultipliers", "GqaGroups", "FfnDimDivisor"];

    /// <summary>The properties layer-wise scaling derives per layer, which the project must then leave unset.</summary>
    private static readonly string[] DerivedProperties = ["Heads", "KvHeads", "FfnDim"];

    /// <summary>Whether the project asks for layer-wise scaling (null when the value is not a boolean: reported).</summary>
    public static bool? Enabled(SpecContext context) => context.Property("LayerWiseScaling") is { } value ? context.Bool(value) : false;

    /// <summary><c>HeadDim</c> when set: a positive even whole number (RoPE rotates pairs), else null.</summary>
    public static int? HeadDim(SpecContext context)
    {
        if (context.Property("HeadDim") is not { } value || context.Int(value, SpecContext.Positive) is not int headDim) return null;
        if (headDim % 2 != 0)
            context.Error(DiagnosticCodes.OddExplicitHeadDim, value.Location,
                $"HeadDim is {headDim}, which is odd, but RoPE rotates pairs of dimensions. Choose an even HeadDim, such as {headDim + 1}.");
        return headDim;
    }

    /// <summary>Without layer-wise scaling, each of its own properties is a mistake: it would change nothing.</summary>
    public static void RejectScalingProperties(SpecContext context)
    {
        foreach (var name in ScalingProperties)
            if (context.Property(name) is { } value)
                context.Error(DiagnosticCodes.ScalingPropertyWithoutScaling, value.Location,
                    $"{value.What} only applies to layer-wise scaling, which this project does not use. Add <LayerWiseScaling>true</LayerWiseScaling>, or remove {name}.");
    }

    /// <summary>
    /// Every layer's shape, or null when a value it needs is missing or invalid (reported). Heads, KvHeads and FfnDim are
    /// derived per layer, so setting any of them is reported rather than silently ignored.
    /// </summary>
    public static IReadOnlyList<LayerShape>? Shapes(SpecContext context, int? modelDim, int? layers, int? headDim)
    {
        var switchLocation = context.Property("LayerWiseScaling")?.Location ?? context.Locator.Project;
        foreach (var name in DerivedProperties)
            if (context.Property(name) is { } value)
                context.Error(DiagnosticCodes.PropertyDerivedByScaling, value.Location,
                    $"{value.What} is set, but LayerWiseScaling gives every layer its own {name} (specs/afmproj.md, \"Layer-wise scaling\"). Remove {name}, "
                    + "or shape the layers with QkvMultipliers, GqaGroups, FfnMultipliers and FfnDimDivisor.");
        if (context.Property("HeadDim") is null)
            context.Error(DiagnosticCodes.ScalingWithoutHeadDim, switchLocation,
                "LayerWiseScaling derives each layer's heads from the head width, but the project does not set HeadDim. Add <HeadDim>64</HeadDim> "
                + "(OpenELM's) to the <PropertyGroup>, or a width that suits ModelDim.");
        var qkv = Multipliers(context, "QkvMultipliers", LayerWiseScaling.DefaultQkvMultipliers);
        var ffn = Multipliers(context, "FfnMultipliers", LayerWiseScaling.DefaultFfnMultipliers);
        var groups = context.Property("GqaGroups") is { } g ? context.Int(g, SpecContext.Positive) : LayerWiseScaling.DefaultGqaGroups;
        var divisor = context.Property("FfnDimDivisor") is { } f ? context.Int(f, SpecContext.Positive) : LayerWiseScaling.DefaultFfnDimDivisor;
        if (modelDim is not int dim || layers is not int count || headDim is not int hd || hd % 2 != 0 || qkv is null || ffn is null
            || groups is not int gqa || divisor is not int div) return null;
        // More layers than any sane model are refused by the resource check (AFM1009) at Layers; the shapes of that many
        // layers are never listed, one more than the limit stands for them (ResourceEstimate scales its sums to Layers).
        return LayerWiseScaling.Shapes(Math.Min(dim, (int)ResourceCheck.MaxModelDim + 1), (int)Math.Min(count, ResourceCheck.MaxLayers + 1), hd, qkv, ffn, gqa, div);
    }

    /// <summary>One positive number, or two separated by ';' (the first and the last layer's).</summary>
    private static IReadOnlyList<double>? Multipliers(SpecContext context, string name, IReadOnlyList<double> defaults)
    {
        if (context.Property(name) is not { } value) return defaults;
        var parts = value.Text.Split(';', StringSplitOptions.TrimEntries);
        var numbers = parts.Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= MaxMultiplier ? v : (double?)null).ToList();
        if (parts.Length is >= 1 and <= 2 && numbers.All(n => n is not null)) return numbers.Select(n => n!.Value).ToList();
        context.Error(DiagnosticCodes.InvalidMultipliers, value.Location,
            $"{value.What} is '{value.Text}'; write one number greater than 0 and at most {MaxMultiplier} for every layer, or two separated by ';' for the first and the last layer "
            + $"(the layers between are ramped linearly), such as {string.Join(";", defaults.Select(d => d.ToString("0.0##", CultureInfo.InvariantCulture)))}.");
        return null;
    }
}
