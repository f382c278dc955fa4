using System.CommandLine;
using System.Text;
using Afm.Cli.Compilation;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Onnx.Adapters;
using Afm.Training.Adapters;
using Afm.Core.Artifacts;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm export-adapters</c>: every trained adapter (<c>&lt;adapters&gt;/&lt;name&gt;/adapter.safetensors</c>) -> ONNX Runtime's
/// <c>&lt;name&gt;.onnx_adapter</c> plus its description <c>&lt;name&gt;.json</c> in the output folder, each checked against the
/// exported base graph (same base weights, tensors that are its LoRA inputs). Written as a whole folder, index.json
/// last-listed, so a killed run leaves the previous set or none. A separate stage from <c>afm export</c> so a retrained
/// adapter never re-exports the base graph.
/// </summary>
internal static class ExportAdaptersCommand
{
    public static Command Create()
    {
        var export = StageOptions.Required("--export", "The export folder written by `afm export` (model.onnx).").ExistingDirectory();
        var adapters = StageOptions.Required("--adapters", "The folder of trained adapters (<name>/adapter.safetensors); absent means none.");
        var output = StageOptions.Out("Folder for <name>.onnx_adapter and <name>.json of every adapter.");
        var command = new Command("export-adapters", "Compile trained LoRA adapters into ONNX Runtime adapter files for the exported graph.") { export, adapters, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var baseGraph = ExportedBase.FromModel(File.ReadAllBytes(Path.Combine(result.GetValue(export)!, StageLayout.Export.Model)));
            var compiled = Compile(result.GetValue(adapters)!, baseGraph);
            AtomicOutput.ReplaceDirectory(result.GetValue(output)!, directory =>
            {
                foreach (var (file, description) in compiled)
                {
                    File.WriteAllBytes(Path.Combine(directory, description.Name + OnnxAdapterFormat.Extension), file);
                    File.WriteAllText(Path.Combine(directory, description.Name + AdapterDescription.Extension), description.ToJson(), new UTF8Encoding(false));
                }
                var names = string.Join(", ", compiled.Select(c => "\"" + c.Description.Name + "\""));
                File.WriteAllText(Path.Combine(directory, StageLayout.ExportAdapters.Index), "{ \"adapters\": [" + names + "] }\n", new UTF8Encoding(false));
            });
            foreach (var (file, description) in compiled)
                CompilerOutput.Progress($"export-adapters: {description.Name} (rank {description.Rank}, {description.Parameters} tensors, {file.Length:N0} bytes)");
            return 0;
        }));
        return command;
    }

    private static List<(byte[] File, AdapterDescription Description)> Compile(string adaptersDirectory, ExportedBase baseGraph)
    {
        var compiled = new List<(byte[], AdapterDescription)>();
        foreach (var trained in AdaptersStageOutput.Adapters(adaptersDirectory))
        {
            var path = trained.Weights;
            try
            {
                var adapter = TrainedAdapter.Load(path);
                if (adapter.Name != trained.Name)
                    throw new AdapterException(AdapterCodes.Invalid, $"the adapter in folder '{trained.Name}' names itself '{adapter.Name}'.");
                compiled.Add(AdapterCompiler.Compile(adapter, baseGraph));
            }
            catch (AdapterException e)
            {
                throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, e.Code, e.Message, SourceLocation.FileOnly(path)));
            }
            catch (InvalidDataException e)
            {
                throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, AdapterCodes.Invalid, e.Message, SourceLocation.FileOnly(path)));
            }
        }
        return compiled;
    }
}
