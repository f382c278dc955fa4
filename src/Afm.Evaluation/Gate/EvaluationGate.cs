using System.Globalization;
using Afm.Core.Diagnostics;
using Afm.Evaluation.Reports;

namespace Afm.Evaluation.Gate;

/// <summary>
/// The evaluation gate (AfmEvaluationBaseline, specs/afmproj.md): each task's main metric on each variant of the committed
/// baseline report against this build's. A drop (a fall of acc or rouge_l, a rise of bits_per_byte) beyond the task's
/// tolerance is AFM4400 naming the task, the variant and the drop; a baseline task or variant the build no longer has is
/// AFM4402. Improvements pass: the baseline is rewritten only on request (-p:AfmUpdateBaseline=true).
/// </summary>
public static class EvaluationGate
{
    public static IReadOnlyList<Diagnostic> Check(EvaluationReport current, EvaluationReport baseline, string baselinePath, Func<string, double> tolerance)
    {
        var problems = new List<Diagnostic>();
        var location = SourceLocation.FileOnly(baselinePath);
        foreach (var committed in baseline.Tasks)
        {
            var task = current.Tasks.FirstOrDefault(t => t.Name == committed.Name);
            foreach (var (variant, metrics) in committed.Results)
            {
                if (task?.Main(variant) is not { } now)
                {
                    problems.Add(new Diagnostic(DiagnosticSeverity.Error, EvaluationCodes.TaskMissingFromReport,
                        $"the baseline has task '{committed.Name}' on variant '{variant}', which this build no longer evaluates. Restore it, or rewrite the baseline with -p:AfmUpdateBaseline=true.", location));
                    continue;
                }
                double before = metrics[0].Value, drop = committed.HigherIsBetter ? before - now : now - before, allowed = tolerance(committed.Name);
                if (drop > allowed)
                    problems.Add(new Diagnostic(DiagnosticSeverity.Error, EvaluationCodes.TaskDropped, string.Create(CultureInfo.InvariantCulture,
                        $"task '{committed.Name}' on {variant}: {committed.MainMetric} went from {before:0.0000} to {now:0.0000}, a drop of {drop:0.0000}, beyond its tolerance of {allowed:0.0000}. Fix the regression, raise Tolerance on the EvalTask, or accept it with -p:AfmUpdateBaseline=true."), location));
            }
        }
        return problems;
    }

    public static Diagnostic Unreadable(string baselinePath) => new(DiagnosticSeverity.Error, EvaluationCodes.BaselineUnreadable,
        "AfmEvaluationBaseline names no readable evaluation report. Write it with -p:AfmUpdateBaseline=true, then commit it.", SourceLocation.FileOnly(baselinePath));
}
