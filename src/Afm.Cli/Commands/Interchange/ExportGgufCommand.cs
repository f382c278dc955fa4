using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Interchange.Gguf;
using Afm.Onnx.Adapters;
using Afm.Onnx.Export;
using Afm.Tokenizers;
using Afm.Core.Artifacts;

namespace Afm.Cli.Commands.Interchange;

/// <summary>
/// <c>afm export-gguf</c>: the model for llama.cpp (specs/gguf.md) beside the package: <c>&lt;name&gt;.&lt;version&gt;.&lt;type&gt;.gguf</c>
/// for every type of AfmGgufTypes and <c>&lt;name&gt;.&lt;version&gt;.&lt;adapter&gt;.lora.gguf</c> for every trained adapter (GgufNames). The
/// weights are the train stage's floats, or with <c>--quantize</c> the quantize stage's, dequantized (GGUF has no
/// palettes; the file's own type then re-encodes them). Reads files only: no libtorch.
/// </summary>
internal static class ExportGgufCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var train = StageOptions.Train();
        var quantize = new Option<string?>("--quantize") { Description = "The quantize folder written by `afm quantize`; optional (absent: the float weights)." };
        var tokenizer = StageOptions.Tokenizer();
        var adapters = new Option<string?>("--adapters") { Description = "The folder of trained adapters (<name>/adapter.safetensors); optional." };
        var output = StageOptions.Out("Folder for the .gguf files (bin/<Configuration>/).");
        var command = new Command(StageLayout.ExportGguf.Name, "Write the model and its adapters as GGUF files for llama.cpp.") { spec, train, quantize, tokenizer, adapters, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var model = SpecFile.Load(result.GetValue(spec)!);
            InterchangeDiagnostics.Check(model, () => GgufArchitecture.For(model.Architecture));
            var (weights, source) = Weights(model, result.GetValue(train)!, result.GetValue(quantize));
            var vocabulary = Vocabulary(model, result.GetValue(tokenizer)!);
            var folder = result.GetValue(output)!;
            var info = new GgufModelInfo(model.Name, model.Version, source);
            foreach (var typeName in model.Exports.GgufTypes)
            {
                var type = Enum.GetValues<GgmlType>().Single(t => GgufNames.TypeName(t) == typeName);
                var path = Path.Combine(folder, GgufNames.FileName(model.Name, model.Version, type));
                GgufModelWriter.Write(path, weights, vocabulary, info, type);
                CompilerOutput.Progress($"export-gguf: {Path.GetFullPath(path)} ({new FileInfo(path).Length:N0} bytes, {GgufArchitecture.For(model.Architecture).Name}, {source})");
            }
            foreach (var adapter in TrainedAdapters(result.GetValue(adapters)))
            {
                var path = Path.Combine(folder, GgufNames.AdapterFileName(model.Name, model.Version, adapter.Name));
                GgufAdapterWriter.Write(path, model.Architecture, adapter);
                CompilerOutput.Progress($"export-gguf: {Path.GetFullPath(path)} (LoRA rank {adapter.Rank})");
            }
            return 0;
        }));
        return command;
    }

    private static (DecoderModel Weights, string Source) Weights(ModelSpec model, string train, string? quantize)
    {
        if (quantize is not { Length: > 0 })
            return (SafeTensorsWeights.Load(model.Architecture, Path.Combine(train, StageLayout.Train.Weights)), "float weights of the train stage");
        var path = Path.Combine(quantize, StageLayout.Quantize.Weights);
        // The RoPE base and names come from the stored file; every weight becomes the float matrix the quantize stage's
        // own dequantization gives (what our runtime computes with after expanding it).
        var stored = QuantizedSafeTensorsWeights.Load(model.Architecture, path);
        var floats = QuantizedWeightsFile.Dequantize(path);
        var weights = floats.ToDictionary(p => p.Key, p => (ExportWeight)new FloatWeight(p.Value.Values, p.Value.Shape), StringComparer.Ordinal);
        return (stored with { Weights = weights }, $"weights of the quantize stage (plan '{model.Quantization!.Name}'), dequantized to float, then encoded in this file's type");
    }

    /// <summary>The tokenizer's tokenizer.ggml.* keys (Afm.Tokenizers' GgufTokenizer); one llama.cpp cannot run is refused at AfmExportFormats.</summary>
    private static IEnumerable<KeyValuePair<string, object>> Vocabulary(ModelSpec model, string folder)
    {
        try
        {
            var tokenizer = GgufTokenizer.From(AfmTokenizer.Load(folder));
            // The project's AfmChatTemplate over the tokenizer's own, as in the artifact.
            return (ChatTemplateCheck.ProjectTemplateText(model) is { } template ? tokenizer with { ChatTemplate = template } : tokenizer).Metadata();
        }
        catch (NotSupportedException e)
        {
            throw new Afm.Core.Diagnostics.DiagnosticException(new Afm.Core.Diagnostics.Diagnostic(Afm.Core.Diagnostics.DiagnosticSeverity.Error,
                Afm.Interchange.InterchangeCodes.GgufTokenizerUnsupported, "GGUF export: " + e.Message,
                model.Exports.Location ?? Afm.Core.Diagnostics.SourceLocation.FileOnly(model.ProjectPath)));
        }
    }

    private static IEnumerable<TrainedAdapter> TrainedAdapters(string? folder) =>
        AdaptersStageOutput.Adapters(folder).Select(a => TrainedAdapter.Load(a.Weights));
}
