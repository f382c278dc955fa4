using Afm.Core.Artifacts;
using Afm.Core.Spec;
using Afm.Onnx.Adapters;
using Afm.Onnx.Export;
using Afm.Tokenizers;

namespace Afm.Interchange.Gguf;

/// <summary>
/// The export-gguf stage (<c>afm export-gguf</c>, target AfmExportGguf, specs/gguf.md): the model for llama.cpp beside
/// the package, <c>&lt;name&gt;.&lt;version&gt;.&lt;type&gt;.gguf</c> for every type of AfmGgufTypes and
/// <c>&lt;name&gt;.&lt;version&gt;.&lt;adapter&gt;.lora.gguf</c> for every trained adapter (GgufNames). The weights are the
/// train stage's floats, or with a quantize folder the quantize stage's, dequantized (GGUF has no palettes; the file's
/// own type then re-encodes them). Reads files only: no libtorch.
/// </summary>
public static class ExportGgufStage
{
    /// <param name="outputDirectory">The folder the .gguf files go into (bin/&lt;Configuration&gt;/); each file is written atomically.</param>
    /// <param name="progress">One line per file written (the compiler prints them for the build).</param>
    public static void Run(WeightsExportInputs inputs, string outputDirectory, Action<string> progress)
    {
        var model = inputs.Spec;
        InterchangeDiagnostics.Check(model, () => GgufArchitecture.For(model.Architecture));
        var (weights, source) = Weights(inputs);
        var vocabulary = Vocabulary(inputs);
        var info = new GgufModelInfo(model.Name, model.Version, source);
        foreach (var typeName in model.Exports.GgufTypes)
        {
            var type = Enum.GetValues<GgmlType>().Single(t => GgufNames.TypeName(t) == typeName);
            var path = Path.Combine(outputDirectory, GgufNames.FileName(model.Name, model.Version, type));
            GgufModelWriter.Write(path, weights, vocabulary, info, type);
            progress($"{StageLayout.ExportGguf.Name}: {Path.GetFullPath(path)} ({new FileInfo(path).Length:N0} bytes, {GgufArchitecture.For(model.Architecture).Name}, {source})");
        }
        foreach (var adapter in AdaptersStageOutput.Adapters(inputs.AdaptersDirectory).Select(a => TrainedAdapter.Load(a.Weights)))
        {
            var path = Path.Combine(outputDirectory, GgufNames.AdapterFileName(model.Name, model.Version, adapter.Name));
            GgufAdapterWriter.Write(path, model.Architecture, adapter);
            progress($"{StageLayout.ExportGguf.Name}: {Path.GetFullPath(path)} (LoRA rank {adapter.Rank})");
        }
    }

    private static (DecoderModel Weights, string Source) Weights(WeightsExportInputs inputs)
    {
        var model = inputs.Spec;
        if (inputs.QuantizedWeightsPath is not { } path)
            return (SafeTensorsWeights.Load(model.Architecture, inputs.FloatWeightsPath), "float weights of the train stage");
        // The RoPE base and names come from the stored file; every weight becomes the float matrix the quantize stage's
        // own dequantization gives (what our runtime computes with after expanding it).
        var stored = QuantizedSafeTensorsWeights.Load(model.Architecture, path);
        var floats = inputs.Dequantize(path);
        var weights = floats.ToDictionary(p => p.Key, p => (ExportWeight)new FloatWeight(p.Value.Values, p.Value.Shape), StringComparer.Ordinal);
        return (stored with { Weights = weights }, $"weights of the quantize stage (plan '{model.Quantization!.Name}'), dequantized to float, then encoded in this file's type");
    }

    /// <summary>The tokenizer's tokenizer.ggml.* keys (Afm.Tokenizers' GgufTokenizer); one llama.cpp cannot run is refused at AfmExportFormats.</summary>
    private static IEnumerable<KeyValuePair<string, object>> Vocabulary(WeightsExportInputs inputs)
    {
        try
        {
            var tokenizer = GgufTokenizer.From(AfmTokenizer.Load(inputs.TokenizerDirectory));
            // The project's AfmChatTemplate over the tokenizer's own, as in the artifact.
            return (ChatTemplateSpec.TextOf(inputs.Spec) is { } template ? tokenizer with { ChatTemplate = template } : tokenizer).Metadata();
        }
        catch (NotSupportedException e)
        {
            throw InterchangeDiagnostics.At(inputs.Spec, InterchangeCodes.GgufTokenizerUnsupported, "GGUF export: " + e.Message);
        }
    }
}
