using System.CommandLine;
using System.Globalization;
using Afm.Cli.Compilation;
using Afm.Evaluation.Gate;
using Afm.Evaluation.Reports;

namespace Afm.Cli.Commands.Evaluate;

/// <summary>
/// <c>afm evaluation-baseline</c>: compare the evaluate stage's report with a committed one (the SDK's AfmEvaluationBaseline
/// gate), or rewrite it with <c>--update</c>; the same mechanism as the quantization baseline (<see cref="BaselineRun"/>).
/// Each task's tolerance is its EvalTask's Tolerance, else <c>--tolerance</c>.
/// </summary>
internal static class EvaluationBaselineCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var report = StageOptions.Required("--report", "The evaluation.json written by `afm evaluate`.").ExistingFile();
        var baseline = StageOptions.Required("--baseline", "The committed baseline report.");
        var tolerance = new Option<string>("--tolerance") { Description = "Allowed drop of a task's main metric (absolute) when its EvalTask sets no Tolerance.", DefaultValueFactory = _ => "0.02" }.InvariantNumber(0);
        var update = new Option<bool>("--update") { Description = "Rewrite the baseline with the current report." };
        var command = new Command("evaluation-baseline", "Gate a build on a committed evaluation report.") { spec, report, baseline, tolerance, update };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            string reportPath = result.GetValue(report)!, baselinePath = Path.GetFullPath(result.GetValue(baseline)!);
            var tasks = SpecFile.Load(result.GetValue(spec)!).EvalTasks;
            double fallback = double.Parse(result.GetValue(tolerance)!, CultureInfo.InvariantCulture);
            return BaselineRun.Run("evaluation", reportPath, baselinePath, result.GetValue(update),
                () => EvaluationReport.TryLoad(baselinePath) is { } committed
                    ? EvaluationGate.Check(EvaluationReport.TryLoad(reportPath)!, committed, baselinePath,
                        name => tasks.FirstOrDefault(t => t.Name == name)?.Tolerance ?? fallback)
                    : null,
                () => EvaluationGate.Unreadable(baselinePath));
        }));
        return command;
    }
}
