using System.Globalization;
using System.Text;
using Afm.Profiling.Formats;
using Afm.Profiling.Profile;

namespace Afm.Profiling.Reports;

/// <summary>profile.md: the profile for people: the device, model totals per uniform format, and each layer's cost per format.</summary>
public static class ProfileTable
{
    public static string Render(ProfileDocument profile)
    {
        var costs = new LayerCosts(profile);
        var d = profile.Device;
        var w = profile.Workload;
        var text = new StringBuilder();
        text.AppendLine(Invariant($"# {profile.Model} on {d.Name}"));
        text.AppendLine();
        text.AppendLine(Invariant($"Device: {d.MemoryBandwidthGBps:0.###} GB/s, {d.ComputeGFlops:0.###} GFLOP/s {d.ComputeType.ToString().ToLowerInvariant()}, {d.Int8GOps:0.###} GOP/s dequantization, {d.LaunchOverheadUs:0.###} us per kernel, {d.EnergyPerBytePj:0.###} pJ/byte, {d.EnergyPerOpPj:0.###} pJ/op, {d.MemoryGB:0.###} GB."));
        if (profile.Calibration is { } c)
            text.AppendLine(Invariant($"Calibrated on this machine ({c.Method}, {c.Threads} threads): {c.MeasuredGFlops:0.#} GFLOP/s, {c.MeasuredBandwidthGBps:0.#} GB/s, {c.MeasuredLaunchOverheadUs:0.##} us per kernel."));
        text.AppendLine(Invariant($"Workload: prefill of {w.PromptTokens} tokens; one decode step at a context of {w.ContextTokens} tokens. Palettization groups of {w.GroupSize} output channels with fp16 tables."));
        text.AppendLine();
        text.AppendLine("## Totals with every layer in one format");
        text.AppendLine();
        text.AppendLine("| format | prefill ms | decode ms | decode mJ | weights MB |");
        text.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var name in profile.Formats)
        {
            WeightFormat.TryParse(name, out var format);
            var all = costs.Layers.ToDictionary(l => l, _ => format);
            var prefill = costs.Totals(all, Phase.Prefill);
            var decode = costs.Totals(all, Phase.Decode);
            text.AppendLine(Invariant($"| {name} | {prefill.LatencyMs:0.000} | {decode.LatencyMs:0.0000} | {decode.EnergyMj:0.00000} | {decode.WeightBytes / 1e6:0.000} |"));
        }
        text.AppendLine();
        text.AppendLine("## Decode step per layer (latency us / energy uJ / weight KB)");
        text.AppendLine();
        text.AppendLine("| layer | " + string.Join(" | ", profile.Formats) + " |");
        text.AppendLine("|---|" + string.Concat(profile.Formats.Select(_ => "---:|")));
        foreach (var layer in costs.Layers)
        {
            var cells = profile.Formats.Select(name =>
            {
                WeightFormat.TryParse(name, out var format);
                var cost = costs.Cost(layer, format, Phase.Decode);
                return Invariant($"{cost.LatencyMs * 1e3:0.00} / {cost.EnergyMj * 1e3:0.000} / {cost.WeightBytes / 1e3:0.0}");
            });
            text.AppendLine($"| {layer} | {string.Join(" | ", cells)} |");
        }
        text.AppendLine();
        text.AppendLine("## Operations without a weight format (decode step)");
        text.AppendLine();
        text.AppendLine("| kind | ops | latency us | energy uJ |");
        text.AppendLine("|---|---:|---:|---:|");
        foreach (var kind in profile.Ops.Where(o => o.Layer is null).GroupBy(o => o.Kind))
        {
            var ops = kind.Select(o => o.CostOf(Phase.Decode, default)).ToList();
            text.AppendLine(Invariant($"| {kind.Key} | {ops.Count} | {ops.Sum(x => x.LatencyMs) * 1e3:0.00} | {ops.Sum(x => x.EnergyMj) * 1e3:0.000} |"));
        }
        return text.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
