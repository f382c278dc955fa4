using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Artifacts;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Interchange.GenAI;
using Afm.Interchange.Gguf;
using Afm.Interchange.HuggingFace;
using Afm.Onnx.Export;
using Afm.Training.Checkpoints;
using TorchSharp;

namespace Afm.Interchange.Tests;

/// <summary>
/// The three export stages as the verbs run them (issue #21, "what a stage is"): from the stage folders (StageLayout) to
/// the format, with their progress lines, and a model the format cannot hold reported at AfmExportFormats.
/// </summary>
public sealed class ExportStageSpecs
{
    private static readonly SourceLocation ExportsAt = new("/micro/micro.afmproj", 7, 5);

    private static ModelSpec Spec(ArchitectureSpec architecture, params string[] ggufTypes) => new()
    {
        ProjectPath = "/micro/micro.afmproj", Name = "micro", Version = "0.1.0", Seed = 1, Threads = 1, Architecture = architecture,
        Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = architecture.VocabSize, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
        Corpora = [], EvalSets = [], TrainingStages = [], ValidationFraction = 0.1,
        Exports = new ExportFormatsSpec { Formats = ["huggingface", "gguf", "genai"], GgufTypes = ggufTypes, Location = ExportsAt },
    };

    /// <summary>The train stage's folder as the trainer leaves it: model.safetensors with the decoder's metadata.</summary>
    private static string TrainFolder(MicroModel model)
    {
        var folder = Directory.CreateDirectory(Path.Combine(model.Folder, StageLayout.Train.Name)).FullName;
        SafeTensors.Write(Path.Combine(folder, StageLayout.Train.Weights), model.Decoder.named_parameters().Select(p => (p.name, (torch.Tensor)p.parameter)),
            DecoderWeightsMetadata.For(model.Architecture, model.Decoder.RopeBase));
        return folder;
    }

    /// <summary>The quantize stage's folder: 4-bit palettes per 16 channels, int8 embedding, as `afm quantize` stores them.</summary>
    private static string QuantizeFolder(MicroModel model)
    {
        var folder = Directory.CreateDirectory(Path.Combine(model.Folder, StageLayout.Quantize.Name)).FullName;
        QuantizedWeightsFile.Write(Path.Combine(folder, StageLayout.Quantize.Weights), model.Export.Weights.Select(p =>
        {
            var values = ((FloatWeight)p.Value).Values;
            return p.Value.Shape.Length != 2 ? (QuantizedTensor)new FloatTensor(p.Key, p.Value.Shape, values)
                : p.Key == "embed.weight" ? Int8ChannelQuantizer.Quantize(p.Key, p.Value.Shape, values)
                : Palettizer.Palettize(p.Key, p.Value.Shape, values, null, 4, 16, LutType.Fp16, seed: 1, maxIterations: 5);
        }).ToList());
        return folder;
    }

    [Fact]
    public void Export_huggingface_writes_the_quantize_stages_weights_dequantized_and_says_so()
    {
        using var model = MicroModel.Create();
        var quantize = QuantizeFolder(model);
        var lines = new List<string>();
        var output = Path.Combine(model.Folder, "micro.0.1.0.hf");
        ExportHuggingFaceStage.Run(new WeightsExportInputs(Spec(model.Architecture), TrainFolder(model), Path.Combine(model.Folder, "tokenizer"),
            quantize, null, QuantizedWeightsFile.Dequantize), output, lines.Add);

        var dequantized = QuantizedWeightsFile.Dequantize(Path.Combine(quantize, StageLayout.Quantize.Weights));
        using var exported = HfCheckpoint.Open(output);
        foreach (var part in exported.Map.OurTensors) Assert.Equal(dequantized[part.Name].Values, exported.ReadTensor(part.Name));
        Assert.NotEqual(((FloatWeight)model.Export.Weights["layers.0.attn.q_proj.weight"]).Values, dequantized["layers.0.attn.q_proj.weight"].Values);
        Assert.Contains("dequantized", File.ReadAllText(Path.Combine(output, "README.md")));
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));
        Assert.Equal([$"export-huggingface: {output} (Qwen3ForCausalLM, dequantized weights, 0 adapter(s))"], lines);
    }

    [Fact]
    public void Export_gguf_writes_one_file_per_type_named_by_GgufNames_from_the_train_stages_weights()
    {
        using var model = MicroModel.Create();
        var lines = new List<string>();
        var output = Directory.CreateDirectory(Path.Combine(model.Folder, "bin")).FullName;
        ExportGgufStage.Run(new WeightsExportInputs(Spec(model.Architecture, "f32", "q8_0"), TrainFolder(model), Path.Combine(model.Folder, "tokenizer"),
            null, Path.Combine(model.Folder, "no-adapters"), QuantizedWeightsFile.Dequantize), output, lines.Add);

        Assert.Equal(["micro.0.1.0.f32.gguf", "micro.0.1.0.q8_0.gguf"], Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var f32 = GgufReader.Read(Path.Combine(output, "micro.0.1.0.f32.gguf"));
        Assert.Equal(model.Export.Weights.Count, f32.Tensors.Count);
        Assert.Equal(2, lines.Count);
        Assert.All(lines, line => Assert.StartsWith("export-gguf: " + output, line));
        Assert.All(lines, line => Assert.EndsWith(", qwen3, float weights of the train stage)", line));
    }

    [Fact]
    public void Export_genai_writes_the_export_stages_graph_as_it_is_beside_its_config()
    {
        using var model = MicroModel.Create();
        var export = Directory.CreateDirectory(Path.Combine(model.Folder, StageLayout.Export.Name)).FullName;
        File.Copy(model.OnnxPath, Path.Combine(export, StageLayout.Export.Model));
        var lines = new List<string>();
        var output = Path.Combine(model.Folder, "micro.0.1.0.genai");
        ExportGenAIStage.Run(new GenAIExportInputs(Spec(model.Architecture), export, null, Path.Combine(model.Folder, "tokenizer")), output, lines.Add);

        Assert.Equal(File.ReadAllBytes(model.OnnxPath), File.ReadAllBytes(Path.Combine(output, StageLayout.Export.Model)));
        Assert.True(File.Exists(Path.Combine(output, "genai_config.json")));
        Assert.Equal([$"export-genai: {output} (model.onnx {new FileInfo(model.OnnxPath).Length:N0} bytes, 0 adapters, tokenizer.json)"], lines);
    }

    [Fact]
    public void A_model_with_QK_norm_and_biases_is_refused_at_AfmExportFormats_by_the_huggingface_and_gguf_stages()
    {
        using var model = MicroModel.Create();
        var spec = Spec(model.Architecture with { AttentionBias = true });
        var inputs = new WeightsExportInputs(spec, TrainFolder(model), Path.Combine(model.Folder, "tokenizer"), null, null, QuantizedWeightsFile.Dequantize);
        var output = Path.Combine(model.Folder, "out");

        var hf = Assert.Throws<DiagnosticException>(() => ExportHuggingFaceStage.Run(inputs, output, _ => { })).Diagnostic;
        Assert.Equal((InterchangeCodes.ExportNotExpressible, ExportsAt), (hf.Code, hf.Location));
        Assert.EndsWith("Remove huggingface from AfmExportFormats.", hf.Message);
        var gguf = Assert.Throws<DiagnosticException>(() => ExportGgufStage.Run(inputs, output, _ => { })).Diagnostic;
        Assert.Equal((InterchangeCodes.GgufNoArchitecture, ExportsAt), (gguf.Code, gguf.Location));
        Assert.False(Directory.Exists(output));
    }
}
