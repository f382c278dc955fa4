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
            $"embedding {p.Embedding}, importance {p.Importance}" + (p.TargetBitsPerWeight is double target ? $", target {F(target, 4)} bits/weight" : "") +
            (p.MaxWeightBytes is long bytes ? $", at most {bytes} bytes" : "") + ".");
        Line(md, "");
        Line(md, "| | value |");
        Line(md, "|---|---|");
        Line(md, $"| effective bits/weight (quantized layers) | {F(t.BitsPerWeight, 4)} |");
        Line(md, $"| bits/weight (whole weights file) | {F(t.ModelBitsPerWeight, 4)} |");
        Line(md, $"| weight bytes (float32) | {t.WeightBytes} ({t.FloatBytes}) |");
        Line(md, $"| parameters (quantized) | {t.Parameters} ({t.QuantizedParameters}) |");
        Line(md, $"| predicted loss increase | {F(t.PredictedLossIncrease, 5)} |");
        Line(md, "");
        var x = report.Perplexity;
        Line(md, "| validation | loss | perplexity |");
        Line(md, "|---|---|---|");
        Line(md, $"| float | {F(x.FloatLoss, 5)} | {F(x.Float, 4)} |");
        if (x.UniformBaseline is double u) Line(md, $"| uniform baseline, equal bits/weight | {F(x.UniformBaselineLoss!.Value, 5)} | {F(u, 4)} |");
        Line(md, $"| quantized ({p.Method}) | {F(x.QuantizedLoss, 5)} | {F(x.Quantized, 4)} |");
        Line(md, "");
        Line(md, "| layer | format | bits | bits/weight | bytes | rel. error | sensitivity | loss contribution |");
        Line(md, "|---|---|---|---|---|---|---|---|");
        foreach (var l in report.Layers.Where(l => l.Role != "vector"))
            Line(md, $"| {l.Name} | {l.Format} ({l.Role}) | {l.Bits?.ToString(CultureInfo.InvariantCulture) ?? "-"} | {F(l.BitsPerWeight, 4)} | {l.Bytes} | " +
                $"{(l.ReconstructionError is double e ? F(e, 5) : "-")} | " +
                $"{(l.Sensitivity is null ? "-" : string.Join(", ", l.Sensitivity.Select(s => $"{s.Key}: {F(s.Value, 5)}")))} | " +
                $"{(l.LossContribution is double c ? F(c, 5) : "-")} |");
        var vectors = report.Layers.Where(l => l.Role == "vector").ToList();
        if (vectors.Count > 0) Line(md, $"| {vectors.Count} norm vectors | float | - | 32 | {vectors.Sum(v => v.Bytes)} | - | - | - |");
        Line(md, "");
        if (report.Frontier.Count > 0)
        {
            Line(md, "Allocation frontier (best predicted loss increase per size):");
            Line(md, "");
            Line(md, "| bits/weight | predicted loss increase | |");
            Line(md, "|---|---|---|");
            foreach (var f in report.Frontier) Line(md, $"| {F(f.BitsPerWeight, 4)} | {F(f.PredictedLossIncrease, 5)} | {(f.Chosen ? "chosen" : "")} |");
            Line(md, "");
        }
        foreach (var note in report.Notes) Line(md, $"- {note}");
        return md.ToString();
    }

    private static string F(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);

    private static void Line(StringBuilder md, string text) => md.Append(text).Append('\n');
}
