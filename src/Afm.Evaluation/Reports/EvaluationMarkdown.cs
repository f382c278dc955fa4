using System.Globalization;
using System.Text;

namespace Afm.Evaluation.Reports;

/// <summary>reports/evaluation.md: one row per task, one column per variant, "value ± standard error" of the main metric.</summary>
public static class EvaluationMarkdown
{
    public static string Render(EvaluationReport report)
    {
        var text = new StringBuilder();
        text.Append($"# Evaluation of {report.Model}\n\n");
        text.Append($"Main metric of each task on each model variant, ± its bootstrap standard error ({report.Resamples} resamples, seed {report.Seed}).\n");
        text.Append("acc: lm-evaluation-harness accuracy; rouge_l: ROUGE-L F-measure of greedy generations; bits_per_byte: lower is better.\n\n");
        text.Append("| task | kind | items | metric | ").Append(string.Join(" | ", report.Variants)).Append(" |\n");
        text.Append("|---|---|---:|---|").Append(string.Concat(report.Variants.Select(_ => "---:|"))).Append('\n');
        foreach (var task in report.Tasks)
        {
            text.Append($"| {task.Name} | {task.Kind} | {task.Items} | {task.MainMetric} |");
            foreach (var variant in report.Variants)
                text.Append(task.Results.TryGetValue(variant, out var metrics) ? $" {Cell(metrics[0].Value, metrics[0].StandardError)} |" : " — |");
            text.Append('\n');
        }
        text.Append("\nAll metrics:\n\n");
        foreach (var task in report.Tasks)
            foreach (var (variant, metrics) in task.Results)
                text.Append($"- {task.Name} / {variant}: ").Append(string.Join(", ", metrics.Select(m => $"{m.Name} {Cell(m.Value, m.StandardError)}"))).Append('\n');
        return text.ToString();
    }

    public static string Cell(double value, double standardError) =>
        string.Create(CultureInfo.InvariantCulture, $"{value:0.0000} ± {standardError:0.0000}");
}
