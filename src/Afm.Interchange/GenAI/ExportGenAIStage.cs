using Afm.Core.Artifacts;
using Afm.Core.Spec;
using Afm.Onnx.Adapters;
using Afm.Onnx.Export;
using Afm.Tokenizers;

namespace Afm.Interchange.GenAI;

/// <summary>
/// The export-genai stage (<c>afm export-genai</c>, target AfmExportGenAI, specs/genai.md): the folder ONNX Runtime GenAI
/// loads, beside the package: genai_config.json, the export stage's model.onnx as it is, the tokenizer as Hugging Face
/// tokenizer.json + tokenizer_config.json (what GenAI's tokenizer reads; Afm.Tokenizers' HuggingFaceTokenizerWriter) and
/// each compiled adapter as &lt;name&gt;.onnx_adapter.
/// </summary>
public static class ExportGenAIStage
{
    /// <param name="outputDirectory">The GenAI folder (bin/&lt;Configuration&gt;/&lt;name&gt;.&lt;version&gt;.genai), replaced atomically.</param>
    /// <param name="progress">The stage's one progress line (the compiler prints it for the build).</param>
    public static void Run(GenAIExportInputs inputs, string outputDirectory, Action<string> progress)
    {
        var model = inputs.Spec;
        var tokenizer = AfmTokenizer.Load(inputs.TokenizerDirectory);
        var eos = tokenizer.EndOfDocumentId;
        var adapters = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        if (inputs.OnnxAdaptersDirectory is { Length: > 0 } folder && Directory.Exists(folder))
            foreach (var file in Directory.EnumerateFiles(folder, "*" + OnnxAdapterFormat.Extension).Order(StringComparer.Ordinal))
                adapters[Path.GetFileNameWithoutExtension(file)] = File.ReadAllBytes(file);
        var onnxPath = Path.Combine(inputs.ExportDirectory, StageLayout.Export.Model);
        var onnx = File.ReadAllBytes(onnxPath);
        var externalData = onnxPath + OnnxModelFile.DataSuffix;
        var ids = new GenAITokenIds(tokenizer.Roles.BeginOfSequence ?? eos, eos, tokenizer.Roles.Padding ?? eos);
        InterchangeDiagnostics.Check(model, () => GenAIFolder.Write(outputDirectory, model.Architecture, ids, onnx,
            into => HuggingFaceTokenizerWriter.Write(tokenizer, into, ChatTemplateSpec.TextOf(model)), adapters, File.Exists(externalData) ? externalData : null));
        progress($"{StageLayout.ExportGenAI.Name}: {Path.GetFullPath(outputDirectory)} (model.onnx {onnx.Length:N0} bytes, {adapters.Count} adapters, tokenizer.json)");
    }
}
