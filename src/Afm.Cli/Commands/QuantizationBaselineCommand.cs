using System.CommandLine;
using Afm.Core.IO;
using System.Globalization;
using System.Text.Json;
using Afm.Cli.Compilation;
using Afm.Compression.Reports;

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
            return BaselineRun.Run("quantization", reportPath, baselinePath, result.GetValue(update),
                () => Load(baselinePath) is { } committed
                    ? BaselineGate.Check(Load(reportPath)!, committed, baselinePath,
                        double.Parse(result.GetValue(bits)!, CultureInfo.InvariantCulture), double.Parse(result.GetValue(perplexity)!, CultureInfo.InvariantCulture))
                    : null,
                () => BaselineGate.Missing(baselinePath));
        }));
        return command;
    }

    private static QuantizationReport? Load(string path) => BoundedFile.TryReadReport<QuantizationReport>(path, SpecFile.Options);
}
