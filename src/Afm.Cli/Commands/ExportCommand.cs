using System.CommandLine;
using Afm.Core.Artifacts;
using Afm.Cli.Compilation;
using Afm.Onnx.Export;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm export</c>: the options of the export stage (Afm.Onnx's <c>ExportStage</c>): the trained weights, quantized
/// with a plan, -> <c>&lt;out&gt;/model.onnx</c>, the decoder graph with KV cache (specs/onnx-export.md).
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var train = StageOptions.Train();
        var quantize = new Option<string?>("--quantize") { Description = "The quantize folder written by `afm quantize`; optional (absent: the float weights are exported)." };
        var output = StageOptions.Out("Export folder: model.onnx.");
        var command = new Command(StageLayout.Export.Name, "Export the trained model to an ONNX graph with KV cache.") { spec, train, quantize, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            ExportStage.Run(SpecFile.Load(result.GetValue(spec)!), result.GetValue(train)!, result.GetValue(quantize), result.GetValue(output)!, CompilerOutput.Progress);
            return 0;
        }));
        return command;
    }
}
