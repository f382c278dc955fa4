using System.CommandLine;
using Afm.Core.Artifacts;
using Afm.Cli.Compilation;
using Afm.Compression;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm quantize</c>: the options of the quantize stage (Afm.Compression's <c>QuantizeStage</c>, specs/quantization.md).
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var data = StageOptions.Data();
        var train = StageOptions.Train();
        var output = StageOptions.Out("Quantize folder: quantized weights and the quantization report.");
        var profile = new Option<string?>("--profile") { Description = "The profile folder written by `afm profile --spec` (device costs for budgets and the report); optional." };
        var command = new Command(StageLayout.Quantize.Name, "Quantize the trained model by its QuantizationPlan.") { spec, data, train, output, profile };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var warnings = QuantizeStage.Run(SpecFile.Load(result.GetValue(spec)!), result.GetValue(data)!, result.GetValue(train)!,
                result.GetValue(profile), result.GetValue(output)!, CompilerOutput.Progress);
            foreach (var warning in warnings) CompilerOutput.Report(warning);
            return 0;
        }));
        return command;
    }
}
