using System.Globalization;
using System.Text;

namespace Afm.Compression.Reports;

/// <summary>reports/quantization.md: the same numbers as the JSON, for people reviewing a model change.</summary>
public static class ReportMarkdown
{
    public static string Render(string title, QuantizationReport report)
    {
        var p = report.Plan;
        var t = report.Totals;
        var md = new StringBuilder();
        Line(md, $"# Quantization report: {title}");
        Line(md, "");
        Line(md, $"Plan `{p.Name}`: {p.Method}, {p.Bits} bits (low {p.LowBits}), {p.GroupSize} output channels per LUT ({p.LutType}), " +
            $"embedding {p.Embedding}, importance {p.Importance}, {p.Rounding} rounding, " +
            (p.TuningSteps > 0 ? $"grids tuned for {p.TuningSteps} steps" : "grids not tuned") + (p.TargetBitsPerWeight is double target ? $", target {F(target, 4)} bits/weight" : "") +
            (p.MaxWeightBytes is long bytes ? $", at most {bytes} bytes" : "") + ".");
        Line(md, "");
        Line(md, "| | value |");
        Line(md, "|---|---|");
        Line(md, $"| effective bits/weight (quantized layers) | {F(t.BitsPerWeight, 4)} |");
        Line(md, $"| bits/weight (whole weights file) | {F(t.ModelBitsPerWeight, 4)} |");
        Line(md, $"| weight bytes (float32) | {t.WeightBytes} ({t.FloatBytes}) |");
        Line(md, $"| resident weight bytes in ONNX Runtime | {t.ResidentBytes} |");
        Line(md, $"| parameters (quantized) | {t.Parameters} ({t.QuantizedParameters}) |");
        Line(md, $"| predicted loss increase | {F(t.PredictedLossIncrease, 5)} |");
        Line(md, "");
        var x = report.Perplexity;
        Line(md, "| validation | loss | perplexity | KL from float (nats/token) |");
        Line(md, "|---|---|---|---|");
        Line(md, $"| float | {F(x.FloatLoss, 5)} | {F(x.Float, 4)} | 0 |");
        if (x.UniformBaseline is double u)
            Line(md, $"| uniform baseline, equal bits/weight | {F(x.UniformBaselineLoss!.Value, 5)} | {F(u, 4)} | {(x.UniformBaselineDivergence is double ud ? F(ud, 6) : "-")} |");
        Line(md, $"| quantized ({p.Method}) | {F(x.QuantizedLoss, 5)} | {F(x.Quantized, 4)} | {(x.QuantizedDivergence is double qd ? F(qd, 6) : "-")} |");
        Line(md, "");
        Line(md, "| layer | format | bits | bits/weight | bytes | runtime form (resident bytes) | rel. weight error | rel. output error | sensitivity | loss contribution |");
        Line(md, "|---|---|---|---|---|---|---|---|---|---|");
        foreach (var l in report.Layers.Where(l => l.Role != "vector"))
            Line(md, $"| {l.Name} | {l.Format} ({l.Role}) | {l.Bits?.ToString(CultureInfo.InvariantCulture) ?? "-"} | {F(l.BitsPerWeight, 4)} | {l.Bytes} | {l.RuntimeForm} ({l.ResidentBytes}) | " +
                $"{(l.ReconstructionError is double e ? F(e, 5) : "-")} | {(l.OutputError is double o ? F(o, 5) : "-")} | " +
                $"{(l.Sensitivity is null ? "-" : string.Join(", ", l.Sensitivity.Select(s => $"{s.Key}: {F(s.Value, 5)}")))} | " +
                $"{(l.LossContribution is double c ? F(c, 5) : "-")} |");
        var vectors = report.Layers.Where(l => l.Role == "vector").ToList();
        if (vectors.Count > 0) Line(md, $"| {vectors.Count} norm vectors | float | - | 32 | {vectors.Sum(v => v.Bytes)} | float ({vectors.Sum(v => v.ResidentBytes)}) | - | - | - | - |");
        Line(md, "");
        if (report.Devices.Count > 0)
        {
            Line(md, "Estimated decode step (one token) per device, quantized vs float:");
            Line(md, "");
            Line(md, "| device | context | latency ms | energy mJ | weight bytes | budget |");
            Line(md, "|---|---|---|---|---|---|");
            foreach (var d in report.Devices)
                Line(md, $"| {d.Name}{(d.Measured ? " (measured)" : "")} | {d.ContextTokens} | {G(d.Quantized.LatencyMs)} ({G(d.Float.LatencyMs)}) | " +
                    $"{G(d.Quantized.EnergyMj)} ({G(d.Float.EnergyMj)}) | {d.Quantized.Bytes} ({d.Float.Bytes}) | " +
                    (d.Budget ? $"{(p.MaxLatencyMs is double ms ? $"≤ {G(ms)} ms " : "")}{(p.MaxEnergyMj is double mj ? $"≤ {G(mj)} mJ" : "")}".Trim() : "-") + " |");
            Line(md, "");
        }
        if (report.Frontier.Count > 0)
        {
            var device = report.Devices.FirstOrDefault(d => d.Budget) ?? report.Devices.FirstOrDefault();
            Line(md, "Allocation frontier (best predicted loss increase per size" + (device is null ? "" : $"; decode step on {device.Name}") + "):");
            Line(md, "");
            Line(md, device is null ? "| bits/weight | predicted loss increase | |" : "| bits/weight | predicted loss increase | latency ms | energy mJ | |");
            Line(md, device is null ? "|---|---|---|" : "|---|---|---|---|---|");
            foreach (var f in report.Frontier)
            {
                var cost = device is null ? null : f.Devices?.GetValueOrDefault(device.Name);
                Line(md, $"| {F(f.BitsPerWeight, 4)} | {F(f.PredictedLossIncrease, 5)} | " +
                    (device is null ? "" : $"{G(cost?.LatencyMs)} | {G(cost?.EnergyMj)} | ") + $"{(f.Chosen ? "chosen" : "")} |");
            }
            Line(md, "");
        }
        foreach (var note in report.Notes) Line(md, $"- {note}");
        return md.ToString();
    }

    private static string G(double? value) => value is double v ? v.ToString("G6", CultureInfo.InvariantCulture) : "-";

    private static string F(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);

    private static void Line(StringBuilder md, string text) => md.Append(text).Append('\n');
}
