using System.CommandLine;
using System.Globalization;
using Afm.Cli.Compilation;
using Afm.Compression.Storage;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Interchange;
using Afm.Interchange.HuggingFace;
using Afm.Core.Artifacts;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm export-huggingface</c>: the model in the Hugging Face layout (specs/interchange.md), for
/// <c>AfmExportFormats="huggingface"</c>: config.json, model.safetensors (fp32; with a QuantizationPlan the quantized
/// weights dequantized, said in the folder's README), generation_config.json, a BaseModel's tokenizer files, and each
/// adapter in PEFT's layout. Reads the stage folders' files directly: no libtorch.
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
        command.SetAction(result => CompilerRun.Guard(() => Run(SpecFile.Load(result.GetValue(spec)!), result.GetValue(train)!, result.GetValue(tokenizer)!,
            result.GetValue(quantize), result.GetValue(adapters), result.GetValue(output)!)));
        return command;
    }

    private static int Run(ModelSpec spec, string trainDirectory, string tokenizerDirectory, string? quantizeDirectory, string? adaptersDirectory, string output)
    {
        var floatPath = Path.Combine(trainDirectory, StageLayout.Train.Weights);
        var quantizedPath = quantizeDirectory is { Length: > 0 } q ? Path.Combine(q, StageLayout.Quantize.Weights) : null;
        using var floatWeights = SafeTensorsReader.Open(floatPath);
        double ropeBase = floatWeights.Header.Metadata.TryGetValue(DecoderWeightsMetadata.RopeBaseKey, out var rope)
            ? double.Parse(rope, CultureInfo.InvariantCulture) : spec.Architecture.RopeBase;
        IDecoderWeights weights = quantizedPath is null ? new DecoderWeightsFile(floatWeights) : new InMemoryDecoderWeights(QuantizedWeightsFile.Dequantize(quantizedPath));
        var tokenizer = Afm.Tokenizers.AfmTokenizer.Load(tokenizerDirectory);
        // A base's generation_config.json ids as it declared them; else the tokenizer's own bos/eos.
        var (bos, eos) = spec.BaseModel is { } b ? (b.BosTokenId, b.EosTokenIds)
            : (tokenizer.Roles.BeginOfSequence, tokenizer.Roles.EndOfSequence is int end ? (IReadOnlyList<int>)[end] : []);
        var request = new HfExportRequest
        {
            Architecture = spec.Architecture, RopeBase = ropeBase, Weights = weights, Dequantized = quantizedPath is not null,
            ModelName = spec.Name, Version = spec.Version, BosTokenId = bos, EosTokenIds = eos,
            WriteTokenizer = folder => Afm.Tokenizers.HuggingFaceTokenizerWriter.Write(tokenizer, folder, ChatTemplateCheck.ProjectTemplateText(spec)),
            Adapters = adaptersDirectory is { Length: > 0 } a ? Adapters(a) : [],
        };
        try
        {
            HfExporter.Write(output, request);
        }
        catch (NotSupportedException e)
        {
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, InterchangeCodes.ExportNotExpressible,
                $"AfmExportFormats asks for the Hugging Face layout, but {e.Message} Remove huggingface from AfmExportFormats.", spec.Exports.Location ?? SourceLocation.FileOnly(spec.ProjectPath)));
        }
        CompilerOutput.Progress($"export-huggingface: {Path.GetFullPath(output)} ({HfFamilies.ClassName(HfTensorMap.FamilyOf(spec.Architecture))}" +
            $"{(quantizedPath is null ? "" : ", dequantized weights")}, {request.Adapters.Count} adapter(s))");
        return 0;
    }

    /// <summary>Every trained adapter (AdaptersStageOutput), by the decoder's tensor names (adapter.safetensors, specs/adapters.md).</summary>
    private static List<HfAdapter> Adapters(string directory)
    {
        return AdaptersStageOutput.Adapters(directory).Select(adapter =>
        {
            var file = SafeTensorsFile.Read(adapter.Weights);
            var tensors = file.Tensors.ToDictionary(t => t.Key,
                t => (t.Value.Shape, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.Value.Bytes.Span).ToArray()), StringComparer.Ordinal);
            return new HfAdapter(adapter.Name, int.Parse(file.Metadata["rank"], CultureInfo.InvariantCulture), tensors);
        }).ToList();
    }
}
