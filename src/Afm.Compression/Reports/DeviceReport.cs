using Afm.Compression.Allocation;
using Afm.Compression.Storage;
using Afm.Core.Spec;

namespace Afm.Compression.Reports;

/// <summary>The report's device estimates: per layer, per frontier point and for the whole chosen model (decode step, rounded).</summary>
internal static class DeviceReport
{
    public static Dictionary<string, DeviceEstimate>? Layer(IReadOnlyList<DeviceCosts> devices, LayerPlan layer, QuantizedTensor tensor)
    {
        var covering = devices.Where(d => d.Covers(layer.Name)).ToList();
        if (covering.Count == 0) return null;
        return covering.ToDictionary(d => d.Device, d =>
        {
            if (!d.Tabulates(tensor)) return new DeviceEstimate(null, null, tensor.StorageBytes);
            var cost = d.Cost(layer.Name, tensor);
            return new DeviceEstimate(R(cost.LatencyMs), R(cost.EnergyMj), cost.WeightBytes);
        }, StringComparer.Ordinal);
    }

    /// <summary>The whole model with these tensors; null latency/energy when a format is not in the device's profile.</summary>
    public static Dictionary<string, DeviceEstimate>? Model(IReadOnlyList<DeviceCosts> devices, List<LayerPlan> layers, IReadOnlyDictionary<string, QuantizedTensor> tensors)
    {
        if (devices.Count == 0) return null;
        var named = layers.Where(l => l.Role != LayerRole.Vector).Select(l => (l.Name, tensors[l.WeightName])).ToList();
        return devices.ToDictionary(d => d.Device, d =>
        {
            if (named.Any(n => d.Covers(n.Name) && !d.Tabulates(n.Item2))) return new DeviceEstimate(null, null, named.Sum(n => n.Item2.StorageBytes));
            var totals = d.Totals(named);
            return new DeviceEstimate(R(totals.LatencyMs), R(totals.EnergyMj), totals.WeightBytes);
        }, StringComparer.Ordinal);
    }

    public static List<DeviceSummary> Summaries(IReadOnlyList<DeviceCosts> devices, QuantizationPlanSpec plan, List<LayerPlan> layers,
        IReadOnlyDictionary<string, QuantizedTensor> chosen)
    {
        var quantized = Model(devices, layers, chosen);
        return devices.Select(d =>
        {
            var baseline = d.Baseline();
            bool budget = string.Equals(d.Device, plan.Device, StringComparison.OrdinalIgnoreCase) && (plan.MaxLatencyMs is not null || plan.MaxEnergyMj is not null);
            return new DeviceSummary(d.Device, "decode", d.Workload.ContextTokens, d.Measured, quantized![d.Device],
                new DeviceEstimate(R(baseline.LatencyMs), R(baseline.EnergyMj), baseline.WeightBytes), budget);
        }).ToList();
    }

    /// <summary>Six significant digits: a tiny model's decode step is hundredths of a millisecond and nanojoules on a phone.</summary>
    private static double R(double value) =>
        value == 0 || !double.IsFinite(value) ? value
            : QuantizationReport.Round(value, Math.Clamp(6 - (int)Math.Ceiling(Math.Log10(Math.Abs(value))), 0, 15));
}
