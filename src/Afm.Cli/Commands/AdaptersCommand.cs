using System.CommandLine;
using Afm.Core.Artifacts;
using Afm.Cli.Compilation;
using Afm.Compression.Storage;
using Afm.Training.Adapters;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm adapters</c>: the options of the adapters stage (Afm.Training's <c>AdaptersStage</c>, specs/adapters.md), which
/// reads the quantized base through Afm.Compression's <c>QuantizedWeightsFile</c>.
/// </summary>
internal static class AdaptersCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var tokenizer = StageOptions.Tokenizer();
        var data = StageOptions.Data();
        var train = StageOptions.Train();
        var quantize = new Option<string?>("--quantize") { Description = "The quantize folder written by `afm quantize`; absent or empty: the adapters train on the float model." };
        var output = StageOptions.Out("Adapters folder: one folder per adapter and the adapters report.");
        var command = new Command(StageLayout.Adapters.Name, "Train the LoRA adapters of the project's Adapter items.") { spec, tokenizer, data, train, quantize, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            AdaptersStage.Run(SpecFile.Load(result.GetValue(spec)!), result.GetValue(tokenizer)!, result.GetValue(data)!, result.GetValue(train)!,
                result.GetValue(quantize), result.GetValue(output)!, QuantizedWeightsFile.Dequantize, CompilerOutput.Progress);
            return 0;
        }));
        return command;
    }
}
