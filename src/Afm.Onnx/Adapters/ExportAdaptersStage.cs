using System.Text;
using Afm.Core.Artifacts;
using Afm.Core.Diagnostics;
using Afm.Core.IO;

namespace Afm.Onnx.Adapters;

/// <summary>
/// The export-adapters stage (<c>afm export-adapters</c>, target AfmExportAdapters): every trained adapter
/// (AdaptersStageOutput) -> ONNX Runtime's <c>&lt;name&gt;.onnx_adapter</c> plus its description <c>&lt;name&gt;.json</c>,
/// each checked against the exported base graph (same base weights, tensors that are its LoRA inputs). The folder
/// (StageLayout.ExportAdapters) is written as a whole, index.json included, so a killed run leaves the previous set or
/// none. A stage apart from export so a retrained adapter never re-exports the base graph.
/// </summary>
public static class ExportAdaptersStage
{
    /// <param name="exportDirectory">The export stage's folder (model.onnx).</param>
    /// <param name="adaptersDirectory">The adapters stage's folder; absent or empty means no adapters.</param>
    /// <param name="outputDirectory">The export-adapters stage's folder.</param>
    /// <param name="progress">Progress lines (the compiler prints them for the build).</param>
    public static void Run(string exportDirectory, string adaptersDirectory, string outputDirectory, Action<string> progress)
    {
        var baseGraph = ExportedBase.FromModel(File.ReadAllBytes(Path.Combine(exportDirectory, StageLayout.Export.Model)));
        var compiled = Compile(adaptersDirectory, baseGraph);
        AtomicOutput.ReplaceDirectory(outputDirectory, directory =>
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
            progress($"export-adapters: {description.Name} (rank {description.Rank}, {description.Parameters} tensors, {file.Length:N0} bytes)");
    }

    /// <summary>Each adapter compiled, or a diagnostic at its adapter.safetensors (AFM7006 another base, AFM7007 unusable).</summary>
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
