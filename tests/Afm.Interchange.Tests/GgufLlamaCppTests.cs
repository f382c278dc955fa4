using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Interchange.Gguf;
using Afm.Onnx.Export;
using Xunit;

namespace Afm.Interchange.Tests;

/// <summary>The GGUF files we write, loaded and run by llama.cpp itself (through node-llama-cpp).</summary>
public sealed class GgufLlamaCppTests
{
    private static readonly int[] Prompt = [0, 45, 72, 101, 290, 33, 260, 80];
    private const int Steps = 32;

    [Theory]
    [InlineData(true)]   // qwen3: QK-norm, NEOX RoPE, weights as ours
    [InlineData(false)]  // llama: q/k rows permuted for its interleaved RoPE
    public void F32_greedy_tokens_equal_our_runtime(bool qkNorm)
    {
        using var model = MicroModel.Create(qkNorm: qkNorm, tied: qkNorm);
        var path = Write(model, GgmlType.F32);
        var ours = model.Greedy(Prompt, Steps);
        var theirs = LlamaCppPeer.Generate(path, Prompt, Steps);
        Assert.Equal(ours, theirs);
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    public void Lower_precision_file_loads_and_generates(GgmlType type)
    {
        using var model = MicroModel.Create();
        var path = Write(model, type);
        var theirs = LlamaCppPeer.Generate(path, Prompt, Steps);
        Assert.Equal(Steps, theirs.Length);
        Assert.All(theirs, t => Assert.InRange(t, 0, model.Architecture.VocabSize - 1));
        // The first token depends on every weight once; block rounding of 8 bits leaves its argmax where it was.
        if (type != GgmlType.Q4_0) Assert.Equal(model.Greedy(Prompt, 1)[0], theirs[0]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Adapter_gguf_loads_and_its_greedy_tokens_equal_our_runtime_with_the_adapter(bool qkNorm)
    {
        using var model = MicroModel.Create(qkNorm: qkNorm, tied: qkNorm);
        var basePath = Write(model, GgmlType.F32);
        var adapter = GenAIPeerTests.RandomAdapter(model.Export, rank: 4, seed: 5);
        var adapterPath = Path.Combine(model.Folder, "style.lora.gguf");
        GgufAdapterWriter.Write(adapterPath, model.Architecture, adapter);
        using var ortAdapter = Microsoft.ML.OnnxRuntime.OrtLoraAdapter.Create(GenAIPeerTests.OnnxAdapter(adapter), null);
        var ours = model.Greedy(Prompt, Steps, adapter: ortAdapter);
        Assert.NotEqual(model.Greedy(Prompt, Steps), ours);
        Assert.Equal(ours, LlamaCppPeer.Generate(basePath, Prompt, Steps, lora: adapterPath));
    }

    [Fact]
    public void Dequantized_palettized_weights_in_F32_give_the_greedy_tokens_of_our_palettized_graph()
    {
        using var model = MicroModel.Create();
        // The quantize stage's storage (4-bit k-means LUTs per 16 channels, int8 embedding), as `afm quantize` writes it.
        var tensors = model.Export.Weights.Select(p =>
        {
            var values = ((FloatWeight)p.Value).Values;
            return p.Value.Shape.Length != 2 ? (QuantizedTensor)new FloatTensor(p.Key, p.Value.Shape, values)
                : p.Key == "embed.weight" ? Int8ChannelQuantizer.Quantize(p.Key, p.Value.Shape, values)
                : Palettizer.Palettize(p.Key, p.Value.Shape, values, null, 4, 16, LutType.Fp16, seed: 1, maxIterations: 10);
        }).ToList();
        var stored = Path.Combine(model.Folder, "quantized.safetensors");
        QuantizedWeightsFile.Write(stored, tensors);
        var palettizedOnnx = Path.Combine(model.Folder, "palettized.onnx");
        File.WriteAllBytes(palettizedOnnx, DecoderExporter.Export(QuantizedSafeTensorsWeights.Load(model.Architecture, stored), "test"));
        // What `afm export-gguf` writes for a quantized project: the same file, dequantized.
        var dequantized = QuantizedWeightsFile.Dequantize(stored)
            .ToDictionary(p => p.Key, p => (ExportWeight)new FloatWeight(p.Value.Values, p.Value.Shape), StringComparer.Ordinal);
        var path = Path.Combine(model.Folder, "dequantized.f32.gguf");
        GgufModelWriter.Write(path, model.Export with { Weights = dequantized }, model.GgufTokenizer(), new GgufModelInfo("micro", "0.1.0", "dequantized"), GgmlType.F32);

        var ours = model.Greedy(Prompt, Steps, onnxPath: palettizedOnnx);
        Assert.NotEqual(model.Greedy(Prompt, Steps), ours); // quantization changed the model, so this is not the float run again
        Assert.Equal(ours, LlamaCppPeer.Generate(path, Prompt, Steps));
    }

    private static string Write(MicroModel model, GgmlType type)
    {
        var path = Path.Combine(model.Folder, GgufNames.FileName("micro", "0.1.0", type));
        GgufModelWriter.Write(path, model.Export, model.GgufTokenizer(), new GgufModelInfo("micro", "0.1.0", "float weights of a test model"), type);
        return path;
    }
}
