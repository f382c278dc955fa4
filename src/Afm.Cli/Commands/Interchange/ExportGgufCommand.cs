using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Compression.Storage;
using Afm.Core.Artifacts;
using Afm.Interchange;
using Afm.Interchange.Gguf;

namespace Afm.Cli.Commands.Interchange;

/// <summary>
/// <c>afm export-gguf</c>: the options of the export-gguf stage (Afm.Interchange's <c>ExportGgufStage</c>,
/// specs/gguf.md), which reads the quantized weights through Afm.Compression's <c>QuantizedWeightsFile</c>.
/// </summary>
internal static class ExportGgufCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var train = StageOptions.Train();
        var quantize = new Option<string?>("--quantize") { Description = "The quantize folder written by `afm quantize`; optional (absent: the float weights)." };
        var tokenizer = StageOptions.Tokenizer();
        var adapters = new Option<string?>("--adapters") { Description = "The folder of trained adapters (<name>/adapter.safetensors); optional." };
        var output = StageOptions.Out("Folder for the .gguf files (bin/<Configuration>/).");
        var command = new Command(StageLayout.ExportGguf.Name, "Write the model and its adapters as GGUF files for llama.cpp.") { spec, train, quantize, tokenizer, adapters, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            ExportGgufStage.Run(new WeightsExportInputs(SpecFile.Load(result.GetValue(spec)!), result.GetValue(train)!, result.GetValue(tokenizer)!,
                result.GetValue(quantize), result.GetValue(adapters), QuantizedWeightsFile.Dequantize), result.GetValue(output)!, CompilerOutput.Progress);
            return 0;
        }));
        return command;
    }
}
