using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Core.Artifacts;
using Afm.Interchange;
using Afm.Interchange.GenAI;

namespace Afm.Cli.Commands.Interchange;

/// <summary><c>afm export-genai</c>: the options of the export-genai stage (Afm.Interchange's <c>ExportGenAIStage</c>, specs/genai.md).</summary>
internal static class ExportGenAICommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var export = StageOptions.Required("--export", "The export folder written by `afm export` (model.onnx).").ExistingDirectory();
        var onnxAdapters = new Option<string?>("--onnx-adapters") { Description = "The folder written by `afm export-adapters`; optional." };
        var tokenizer = StageOptions.Tokenizer();
        var output = StageOptions.Out("The GenAI folder (bin/<Configuration>/<name>.<version>.genai).");
        var command = new Command(StageLayout.ExportGenAI.Name, "Write the ONNX Runtime GenAI folder of the model.") { spec, export, onnxAdapters, tokenizer, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            ExportGenAIStage.Run(new GenAIExportInputs(SpecFile.Load(result.GetValue(spec)!), result.GetValue(export)!, result.GetValue(onnxAdapters),
                result.GetValue(tokenizer)!), result.GetValue(output)!, CompilerOutput.Progress);
            return 0;
        }));
        return command;
    }
}
