using Afm.Core.Spec;

namespace Afm.Compression.Allocation;

/// <summary>What the plan decides for one weight before any measurement.</summary>
public enum LayerRole
{
    /// <summary>1-D weights (norms): always float32, outside the bits-per-weight accounting of the plan.</summary>
    Vector,
    /// <summary>Kept in float32 by KeepFloat or Embedding="float".</summary>
    Float,
    /// <summary>The embedding in int8 per channel.</summary>
    Int8Embedding,
    /// <summary>Quantized at bits an Override forces.</summary>
    Fixed,
    /// <summary>Quantized at Bits or LowBits, as the allocator chooses.</summary>
    Allocatable,
}

public sealed record LayerPlan(string WeightName, long[] Shape, LayerRole Role, int? FixedBits)
{
    public string Name => LayerPatterns.LayerName(WeightName);
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    public bool IsQuantized => Role is LayerRole.Fixed or LayerRole.Allocatable;

    /// <summary>Roles of every weight, in the model's parameter order. Overrides win over KeepFloat, the first match wins.</summary>
    public static List<LayerPlan> For(QuantizationPlanSpec plan, IEnumerable<(string Name, long[] Shape)> weights) =>
        weights.Select(w =>
        {
            string layer = LayerPatterns.LayerName(w.Name);
            if (w.Shape.Length < 2) return new LayerPlan(w.Name, w.Shape, LayerRole.Vector, null);
            var forced = plan.Overrides.FirstOrDefault(o => LayerPatterns.Matches(o.Pattern, layer));
            if (forced is not null) return new LayerPlan(w.Name, w.Shape, LayerRole.Fixed, forced.Bits);
            if (plan.KeepFloat.Any(p => LayerPatterns.Matches(p, layer))) return new LayerPlan(w.Name, w.Shape, LayerRole.Float, null);
            if (layer == "embed" && plan.Embedding == EmbeddingFormat.Float) return new LayerPlan(w.Name, w.Shape, LayerRole.Float, null);
            if (layer == "embed" && plan.Embedding == EmbeddingFormat.Int8PerChannel) return new LayerPlan(w.Name, w.Shape, LayerRole.Int8Embedding, null);
            return new LayerPlan(w.Name, w.Shape, LayerRole.Allocatable, null);
        }).ToList();

    /// <summary>Patterns of the plan that name no layer: almost always a typo the user must hear about.</summary>
    public static IEnumerable<string> UnmatchedPatterns(QuantizationPlanSpec plan, IEnumerable<string> weightNames)
    {
        var layers = weightNames.Select(LayerPatterns.LayerName).ToList();
        return plan.Overrides.Select(o => o.Pattern).Concat(plan.KeepFloat).Where(p => !layers.Any(l => LayerPatterns.Matches(p, l)));
    }
}
