using System.Globalization;
using System.Runtime.InteropServices;
using Afm.Core.Artifacts;
using Afm.Core.Spec;
using Afm.Core.IO;
using Afm.Tokenizers;

namespace Afm.Interchange.HuggingFace;

/// <summary>
/// The export-huggingface stage (<c>afm export-huggingface</c>, target AfmExportHuggingFace, specs/interchange.md): the
/// model in the Hugging Face layout for <c>AfmExportFormats="huggingface"</c>: config.json, model.safetensors (fp32; with
/// a QuantizationPlan the quantized weights dequantized, said in the folder's README), generation_config.json, the
/// tokenizer's files, and each adapter in PEFT's layout. Reads the stage folders' files directly: no libtorch.
/// </summary>
public static class ExportHuggingFaceStage
{
    /// <param name="outputDirectory">The folder to (re)create, replaced atomically.</param>
    /// <param name="progress">The stage's one progress line (the compiler prints it for the build).</param>
    public static void Run(WeightsExportInputs inputs, string outputDirectory, Action<string> progress)
    {
        var spec = inputs.Spec;
        var quantizedPath = inputs.QuantizedWeightsPath;
        using var floatWeights = SafeTensorsReader.Open(inputs.FloatWeightsPath);
        double ropeBase = floatWeights.Header.Metadata.TryGetValue(DecoderWeightsMetadata.RopeBaseKey, out var rope)
            ? double.Parse(rope, CultureInfo.InvariantCulture) : spec.Architecture.RopeBase;
        IDecoderWeights weights = quantizedPath is null ? new DecoderWeightsFile(floatWeights) : new InMemoryDecoderWeights(inputs.Dequantize(quantizedPath));
        var tokenizer = AfmTokenizer.Load(inputs.TokenizerDirectory);
        // A base's generation_config.json ids as it declared them; else the tokenizer's own bos/eos.
        var (bos, eos) = spec.BaseModel is { } b ? (b.BosTokenId, b.EosTokenIds)
            : (tokenizer.Roles.BeginOfSequence, tokenizer.Roles.EndOfSequence is int end ? (IReadOnlyList<int>)[end] : []);
        var request = new HfExportRequest
        {
            Architecture = spec.Architecture, RopeBase = ropeBase, Weights = weights, Dequantized = quantizedPath is not null,
            ModelName = spec.Name, Version = spec.Version, BosTokenId = bos, EosTokenIds = eos,
            WriteTokenizer = folder => HuggingFaceTokenizerWriter.Write(tokenizer, folder, ChatTemplateSpec.TextOf(spec)),
            Adapters = Adapters(inputs.AdaptersDirectory),
        };
        try
        {
            HfExporter.Write(outputDirectory, request);
        }
        catch (NotSupportedException e)
        {
            throw InterchangeDiagnostics.At(spec, InterchangeCodes.ExportNotExpressible,
                $"AfmExportFormats asks for the Hugging Face layout, but {e.Message} Remove huggingface from AfmExportFormats.");
        }
        progress($"{StageLayout.ExportHuggingFace.Name}: {Path.GetFullPath(outputDirectory)} ({HfFamilies.ClassName(HfTensorMap.FamilyOf(spec.Architecture))}" +
            $"{(quantizedPath is null ? "" : ", dequantized weights")}, {request.Adapters.Count} adapter(s))");
    }

    /// <summary>Every trained adapter (AdaptersStageOutput), by the decoder's tensor names (adapter.safetensors, specs/adapters.md).</summary>
    private static List<HfAdapter> Adapters(string? directory) =>
        AdaptersStageOutput.Adapters(directory).Select(adapter =>
        {
            var file = SafeTensorsFile.Read(adapter.Weights);
            var tensors = file.Tensors.ToDictionary(t => t.Key,
                t => (t.Value.Shape, MemoryMarshal.Cast<byte, float>(t.Value.Bytes.Span).ToArray()), StringComparer.Ordinal);
            return new HfAdapter(adapter.Name, int.Parse(file.Metadata["rank"], CultureInfo.InvariantCulture), tensors);
        }).ToList();
}
