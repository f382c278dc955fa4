using System.Globalization;
using System.Text;

namespace Afm.Training.Adapters;

/// <summary>reports/adapters.md: the adapters report as two tables (recovery, feature) a reviewer reads in a diff.</summary>
public static class AdaptersReportMarkdown
{
    public static string Render(string title, AdaptersReport report)
    {
        var md = new StringBuilder();
        string F(double? v, string format = "0.000") => v is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "n/a";
        md.AppendLine(CultureInfo.InvariantCulture, $"# Adapters: {title}").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Trained on the frozen {report.Base} base (SHA-256 `{report.BaseSha256}`).");
        md.AppendLine("Perplexities are exp(mean next-token loss) on validation data; recovered = (ppl base - ppl base+adapter) / (ppl base - ppl float).").AppendLine();
        var recovery = report.Adapters.Where(a => a.Kind == "accuracy-recovery").ToList();
        if (recovery.Count > 0)
        {
            md.AppendLine("## Accuracy recovery").AppendLine();
            md.AppendLine("| adapter | rank | objective | bytes | steps | data | ppl float | ppl base | ppl base+adapter | recovered |");
            md.AppendLine("|---|---:|---|---:|---:|---|---:|---:|---:|---:|");
            foreach (var a in recovery)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {a.Name} | {a.Rank} | {a.Objective ?? "next-token"} | {a.Bytes:N0} | {a.Steps} | {a.Data} | {F(a.FloatPerplexity)} | {F(a.BasePerplexity)} | {F(a.AdaptedPerplexity)} | {a.DescribeRecovery()} |");
            md.AppendLine();
            if (recovery.Any(a => a.Recovery is not null))
            {
                md.AppendLine("In nats per token on the same validation sequences, [95% bootstrap interval over them]: quantization loss = L(base) - L(float); " +
                    "KL = KL(float ‖ model); share = (L(base) - L(base+adapter)) / quantization loss; control gain = L(float) - L(float+adapter), " +
                    "the same adapter trained on the float model (Control=\"true\"); net of control = (L(base) - L(base+adapter) - control gain) / quantization loss.").AppendLine();
                // Adapters started from the quantization error (Init="error") also show KL before their first step: what the closed form won.
                bool started = recovery.Any(a => a.InitialDivergence is not null);
                md.AppendLine("| adapter | quantization loss | KL base | " + (started ? "KL base+adapter at start | " : "") + "KL base+adapter | share | control gain | net of control |");
                md.AppendLine("|---|---:|---:|" + (started ? "---:|" : "") + "---:|---:|---:|---:|");
                foreach (var a in recovery.Where(a => a.Recovery is not null))
                    md.AppendLine(string.Join(" | ", new[] { "", a.Name, RecoveryText.Loss(a.Recovery!), F(a.BaseDivergence, "0.00000") }
                        .Concat(started ? [F(a.InitialDivergence ?? a.BaseDivergence, "0.00000")] : [])
                        .Concat([F(a.AdaptedDivergence, "0.00000"), RecoveryText.Share(a.Recovery!), RecoveryText.ControlGain(a.Recovery!), RecoveryText.NetShare(a.Recovery!), ""])).Trim());
                md.AppendLine();
            }
            var layered = recovery.Where(a => a.LayerDivergences is { Count: > 0 }).ToList();
            if (layered.Count > 0) LayerTable(md, layered);
        }
        var features = report.Adapters.Where(a => a.Kind == "feature").ToList();
        if (features.Count > 0)
        {
            md.AppendLine("## Feature adapters").AppendLine();
            md.AppendLine("Task metric: perplexity of the response tokens of held-out examples.").AppendLine();
            md.AppendLine("| adapter | rank | bytes | steps | starts from | base | at start | after training |");
            md.AppendLine("|---|---:|---:|---:|---|---:|---:|---:|");
            foreach (var a in features)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {a.Name} | {a.Rank} | {a.Bytes:N0} | {a.Steps} | {a.InitFrom ?? "zero"} | {F(a.BasePerplexity)} | {F(a.InitialLoss is double l ? Math.Exp(l) : null)} | {F(a.AdaptedPerplexity)} |");
            md.AppendLine();
        }
        return md.ToString();
    }

    /// <summary>Which parts carry the quantization loss: one row per part, the bare figure, then one column per adapter.</summary>
    private static void LayerTable(StringBuilder md, IReadOnlyList<AdapterResult> adapters)
    {
        md.AppendLine("### Per-layer KL").AppendLine();
        md.AppendLine("KL(float ‖ float model with only this part quantized), nats/token on the same validation sequences; per adapter, the same " +
            "with that adapter's pairs of the part attached (— : LoRA does not adapt the part). Marginal figures: they need not add up to " +
            "the whole model's KL, and a pair may correct another part's error.").AppendLine();
        md.AppendLine("| part | quantized | " + string.Join(" | ", adapters.Select(a => a.Name)) + " |");
        md.AppendLine("|---|---:|" + string.Concat(adapters.Select(_ => "---:|")));
        foreach (var row in adapters[0].LayerDivergences!)
        {
            var cells = adapters.Select(a => a.LayerDivergences!.FirstOrDefault(l => l.Part == row.Part)?.Adapted is double v
                ? v.ToString("0.00000", CultureInfo.InvariantCulture) : "—");
            md.AppendLine(CultureInfo.InvariantCulture, $"| {row.Part} | {row.Quantized:0.00000} | {string.Join(" | ", cells)} |");
        }
        md.AppendLine();
    }
}
