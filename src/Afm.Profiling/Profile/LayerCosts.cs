using Afm.Profiling.Formats;
using Afm.Profiling.Model;

namespace Afm.Profiling.Profile;

/// <summary>What one layer (all ops reading its weight) costs in one format and phase.</summary>
public sealed record LayerCost(double LatencyMs, double EnergyMj, long BytesMoved, long WeightBytes);

/// <summary>Totals of a whole model for one assignment of formats to layers.</summary>
public sealed record ModelTotals(double LatencyMs, double EnergyMj, long BytesMoved, long WeightBytes);

/// <summary>
/// The per-layer cost input of bit allocation: <c>Cost(layer, format, phase)</c> over a loaded profile.json.
/// A tied embedding's layer (<c>embed</c>) includes the output projection that reads the same weight.
/// </summary>
public sealed class LayerCosts(ProfileDocument profile)
{
    public ProfileDocument Profile { get; } = profile;

    public static LayerCosts Load(string profileJsonPath) => new(ProfileDocument.Load(profileJsonPath));

    public IReadOnlyList<string> Layers => Profile.Layers;

    public LayerCost Cost(string layerName, WeightFormat format, Phase phase)
    {
        var ops = Profile.Ops.Where(o => o.Layer == layerName).ToList();
        if (ops.Count == 0) throw new KeyNotFoundException($"The profile of {Profile.Device.Name} has no layer '{layerName}'. Layers: {string.Join(", ", Layers)}.");
        var costs = ops.Select(o => o.CostOf(phase, format)).ToList();
        return new LayerCost(costs.Sum(c => c.LatencyMs), costs.Sum(c => c.EnergyMj), costs.Sum(c => c.BytesMoved), costs[0].WeightBytes);
    }

    /// <summary>Every op, each layer in its assigned format (the baseline format when unassigned).</summary>
    public ModelTotals Totals(IReadOnlyDictionary<string, WeightFormat> assignment, Phase phase)
    {
        double latency = 0, energy = 0;
        long bytes = 0, weights = 0;
        var counted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var op in Profile.Ops)
        {
            var cost = op.CostOf(phase, FormatOf(op.Layer, assignment));
            latency += cost.LatencyMs;
            energy += cost.EnergyMj;
            bytes += cost.BytesMoved;
            if (op.Layer is not null && counted.Add(op.Layer)) weights += cost.WeightBytes;
        }
        return new ModelTotals(latency, energy, bytes, weights);
    }

    public WeightFormat FormatOf(string? layer, IReadOnlyDictionary<string, WeightFormat> assignment) =>
        layer is not null && assignment.TryGetValue(layer, out var f) ? f : Baseline;

    public WeightFormat Baseline => WeightFormat.TryParse(Profile.BaselineFormat, out var f) ? f : WeightFormat.Fp32;
}
