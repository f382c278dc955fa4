using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Afm.Cli.Compilation;
using Afm.Compression.Reports;
using Afm.Core.IO;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm quantization-baseline</c>: compare the quantize stage's report with a committed baseline (the SDK's
/// AfmQuantizationBaseline gate), or rewrite the baseline with <c>--update</c>.
/// </summary>
internal static class QuantizationBaselineCommand
{
    public static Command Create()
    {
        var report = StageOptions.Required("--report", "The report.json written by `afm quantize`.").ExistingFile();
        var baseline = StageOptions.Required("--baseline", "The committed baseline report.");
        var bits = new Option<string>("--bits-tolerance") { Description = "Allowed rise of effective bits per weight (absolute).", DefaultValueFactory = _ => "0.01" }.InvariantNumber(0);
        var perplexity = new Option<string>("--perplexity-tolerance") { Description = "Allowed rise of quantized perplexity (fraction).", DefaultValueFactory = _ => "0.02" }.InvariantNumber(0);
        var update = new Option<bool>("--update") { Description = "Rewrite the baseline with the current report." };
        var command = new Command("quantization-baseline", "Gate a build on a committed quantization report.") { report, baseline, bits, perplexity, update };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            string reportPath = result.GetValue(report)!, baselinePath = Path.GetFullPath(result.GetValue(baseline)!);
            if (result.GetValue(update))
            {
                AtomicOutput.WriteAllTextIfChanged(baselinePath, File.ReadAllText(reportPath));
                CompilerOutput.Progress($"quantization baseline: wrote {baselinePath}");
                return 0;
            }
            var current = Load(reportPath)!;
            var committed = File.Exists(baselinePath) ? Load(baselinePath) : null;
            if (committed is null)
            {
                CompilerOutput.Report(BaselineGate.Missing(baselinePath));
                return 1;
            }
            var problems = BaselineGate.Check(current, committed, baselinePath,
                double.Parse(result.GetValue(bits)!, CultureInfo.InvariantCulture), double.Parse(result.GetValue(perplexity)!, CultureInfo.InvariantCulture));
            foreach (var problem in problems) CompilerOutput.Report(problem);
            if (problems.Count == 0) CompilerOutput.Progress($"quantization baseline: within tolerance of {baselinePath}");
            return problems.Count == 0 ? 0 : 1;
        }));
        return command;
    }

    private static QuantizationReport? Load(string path)
    {
        try { return JsonSerializer.Deserialize<QuantizationReport>(File.ReadAllText(path), SpecFile.Options); }
        catch (JsonException) { return null; }
    }
}
