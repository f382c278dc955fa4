using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Compression.Storage;
using Afm.Core.Artifacts;
using Afm.Interchange;
using Afm.Interchange.HuggingFace;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm export-huggingface</c>: the options of the export-huggingface stage (Afm.Interchange's
/// <c>ExportHuggingFaceStage</c>, specs/interchange.md), which reads the quantized weights through Afm.Compression's
/// <c>QuantizedWeightsFile</c>.
/// </summary>
internal static class ExportHuggingFaceCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var train = StageOptions.Train();
        var tokenizer = StageOptions.Tokenizer();
        var quantize = new Option<string?>("--quantize") { Description = "The quantize folder; optional (absent: the float weights are exported)." };
        var adapters = new Option<string?>("--adapters") { Description = "The adapters folder; optional (absent: no adapters)." };
        var output = StageOptions.Out("The folder to (re)create in the Hugging Face layout.");
        var command = new Command(StageLayout.ExportHuggingFace.Name, "Write the model in the Hugging Face layout (config.json, model.safetensors, PEFT adapters).")
            { spec, train, tokenizer, quantize, adapters, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            ExportHuggingFaceStage.Run(new WeightsExportInputs(SpecFile.Load(result.GetValue(spec)!), result.GetValue(train)!, result.GetValue(tokenizer)!,
                result.GetValue(quantize), result.GetValue(adapters), QuantizedWeightsFile.Dequantize), result.GetValue(output)!, CompilerOutput.Progress);
            return 0;
        }));
        return command;
    }
}
