using System.CommandLine;
using Afm.Core.Artifacts;
using Afm.Cli.Compilation;
using Afm.Onnx.Adapters;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm export-adapters</c>: the options of the export-adapters stage (Afm.Onnx's <c>ExportAdaptersStage</c>): trained
/// adapters -> ONNX Runtime's <c>&lt;name&gt;.onnx_adapter</c> and <c>&lt;name&gt;.json</c>, checked against the exported graph.
/// </summary>
internal static class ExportAdaptersCommand
{
    public static Command Create()
    {
        var export = StageOptions.Required("--export", "The export folder written by `afm export` (model.onnx).").ExistingDirectory();
        var adapters = StageOptions.Required("--adapters", "The folder of trained adapters (<name>/adapter.safetensors); absent means none.");
        var output = StageOptions.Out("Folder for <name>.onnx_adapter and <name>.json of every adapter.");
        var command = new Command(StageLayout.ExportAdapters.Name, "Compile trained LoRA adapters into ONNX Runtime adapter files for the exported graph.") { export, adapters, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            ExportAdaptersStage.Run(result.GetValue(export)!, result.GetValue(adapters)!, result.GetValue(output)!, CompilerOutput.Progress);
            return 0;
        }));
        return command;
    }
}
