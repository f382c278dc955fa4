using Afm.Cli.Compilation;
using Afm.Core.Diagnostics;
using Afm.Core.IO;

namespace Afm.Cli.Commands;

/// <summary>
/// The one mechanism of the baseline gates (AfmQuantizationBaseline, AfmEvaluationBaseline; -p:AfmUpdateBaseline=true):
/// with update, the committed baseline becomes a copy of this build's report (written only when it changes); otherwise
/// a missing or unreadable baseline, or each problem the gate's check finds, is reported and fails the build.
/// </summary>
internal static class BaselineRun
{
    /// <param name="check">The gate: the problems of this report against the baseline, or null when the baseline is not a readable report.</param>
    public static int Run(string gate, string reportPath, string baselinePath, bool update,
        Func<IReadOnlyList<Diagnostic>?> check, Func<Diagnostic> missing)
    {
        if (update)
        {
            AtomicOutput.WriteAllTextIfChanged(baselinePath, File.ReadAllText(reportPath));
            CompilerOutput.Progress($"{gate} baseline: wrote {baselinePath}");
            return 0;
        }
        var problems = File.Exists(baselinePath) ? check() : null;
        if (problems is null)
        {
            CompilerOutput.Report(missing());
            return 1;
        }
        foreach (var problem in problems) CompilerOutput.Report(problem);
        if (problems.Count == 0) CompilerOutput.Progress($"{gate} baseline: within tolerance of {baselinePath}");
        return problems.Count == 0 ? 0 : 1;
    }
}
