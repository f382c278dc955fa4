using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Interchange.GenAI;
using Afm.Onnx.Adapters;
using Afm.Tokenizers;
using Afm.Core.Artifacts;

namespace Afm.Cli.Commands.Interchange;

/// <summary>
/// <c>afm export-genai</c>: the folder ONNX Runtime GenAI loads (specs/genai.md) beside the package: genai_config.json,
/// the export stage's model.onnx as it is, the tokenizer as Hugging Face tokenizer.json + tokenizer_config.json (what
/// GenAI's tokenizer reads; Afm.Tokenizers' HuggingFaceTokenizerWriter) and each compiled adapter as &lt;name&gt;.onnx_adapter.
/// </summary>
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
            var model = SpecFile.Load(result.GetValue(spec)!);
            var loaded = AfmTokenizer.Load(result.GetValue(tokenizer)!);
            var eos = loaded.EndOfDocumentId;
            var adapters = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
            if (result.GetValue(onnxAdapters) is { Length: > 0 } folder && Directory.Exists(folder))
                foreach (var file in Directory.EnumerateFiles(folder, "*" + OnnxAdapterFormat.Extension).Order(StringComparer.Ordinal))
                    adapters[Path.GetFileNameWithoutExtension(file)] = File.ReadAllBytes(file);
            var path = result.GetValue(output)!;
            var onnxPath = Path.Combine(result.GetValue(export)!, StageLayout.Export.Model);
            var onnx = File.ReadAllBytes(onnxPath);
            var externalData = onnxPath + Afm.Onnx.Export.OnnxModelFile.DataSuffix;
            InterchangeDiagnostics.Check(model, () =>
                GenAIFolder.Write(path, model.Architecture, new GenAITokenIds(loaded.Roles.BeginOfSequence ?? eos, eos, loaded.Roles.Padding ?? eos), onnx, into => HuggingFaceTokenizerWriter.Write(loaded, into, ChatTemplateCheck.ProjectTemplateText(model)), adapters,
                    File.Exists(externalData) ? externalData : null));
            CompilerOutput.Progress($"export-genai: {Path.GetFullPath(path)} (model.onnx {onnx.Length:N0} bytes, {adapters.Count} adapters, tokenizer.json)");
            return 0;
        }));
        return command;
    }
}
