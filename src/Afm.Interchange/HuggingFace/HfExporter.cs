using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Interchange.HuggingFace;

/// <summary>A decoder's weights by the decoder's tensor names, read as fp32 (from a weights file, or dequantized in memory).</summary>
public interface IDecoderWeights
{
    long[] Shape(string name);
    void Read(string name, long firstElement, Span<float> destination);
}

/// <summary>The decoder weights file the train stage writes (fp32 safetensors in the decoder's names), read a chunk at a time.</summary>
public sealed class DecoderWeightsFile(SafeTensorsReader reader) : IDecoderWeights
{
    public long[] Shape(string name) => reader.Header.Tensors.TryGetValue(name, out var t) ? t.Shape
        : throw new InvalidDataException($"{reader.Path} has no '{name}'.");

    public void Read(string name, long firstElement, Span<float> destination) => reader.ReadFloat32(name, firstElement, destination);
}

/// <summary>Weights held in memory by name (e.g. a quantized model's weights, dequantized).</summary>
public sealed class InMemoryDecoderWeights(IReadOnlyDictionary<string, (long[] Shape, float[] Values)> weights) : IDecoderWeights
{
    public long[] Shape(string name) => weights[name].Shape;

    public void Read(string name, long firstElement, Span<float> destination) =>
        weights[name].Values.AsSpan(checked((int)firstElement), destination.Length).CopyTo(destination);
}

/// <summary>One LoRA adapter to export: its name, rank and the decoder-named tensors <c>N.lora_A</c> [rank, in] and <c>N.lora_B</c> [out, rank] (scale folded into B).</summary>
public sealed record HfAdapter(string Name, int Rank, IReadOnlyDictionary<string, (long[] Shape, float[] Values)> Tensors);

/// <summary>What goes into a Hugging Face folder.</summary>
public sealed record HfExportRequest
{
    public required ArchitectureSpec Architecture { get; init; }
    /// <summary>The RoPE base the weights were trained with last (their metadata), written as rope_theta.</summary>
    public required double RopeBase { get; init; }
    public required IDecoderWeights Weights { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    /// <summary>True when <see cref="Weights"/> are a quantized model's weights dequantized (the README says so).</summary>
    public bool Dequantized { get; init; }
    public required string ModelName { get; init; }
    public required string Version { get; init; }
    public IReadOnlyList<HfAdapter> Adapters { get; init; } = [];
    /// <summary>Writes tokenizer.json and tokenizer_config.json into the folder it is given (Afm.Tokenizers' writer); null: none (the README says so).</summary>
    public Action<string>? WriteTokenizer { get; init; }
}

/// <summary>
/// Writes a model in the Hugging Face layout (issue #16): config.json of the family whose tensors it has
/// (<see cref="HfTensorMap.FamilyOf"/>), model.safetensors in fp32 through the same name map the importer reads with,
/// generation_config.json, the tokenizer's files, each LoRA adapter in PEFT's layout, and a README that says what the
/// weights are. The folder imports back as the same model: the exporter reads its config.json back and refuses to
/// finish if it does not describe the architecture it wrote.
/// </summary>
public static class HfExporter
{
    private const int CopyChunkElements = 1 << 20;

    /// <exception cref="NotSupportedException">The model is none of the families (e.g. QK-norm and biases together).</exception>
    public static void Write(string folder, HfExportRequest request)
    {
        var a = request.Architecture;
        var family = HfTensorMap.FamilyOf(a);
        var map = HfTensorMap.For(family, a);
        var config = HfConfigWriter.Config(family, a, request.RopeBase, request.BosTokenId, request.EosTokenIds);
        AtomicOutput.ReplaceDirectory(folder, temp =>
        {
            WriteJson(Path.Combine(temp, HfLayout.Config), config);
            WriteJson(Path.Combine(temp, HfLayout.GenerationConfig), HfConfigWriter.Generation(request.BosTokenId, request.EosTokenIds));
            CheckReadsBack(temp, family, a, request.RopeBase);
            WriteWeights(Path.Combine(temp, HfLayout.Weights), map, request.Weights);
            request.WriteTokenizer?.Invoke(temp);
            foreach (var adapter in request.Adapters) PeftAdapter.Write(Path.Combine(temp, "adapters", adapter.Name), map, adapter);
            File.WriteAllText(Path.Combine(temp, HfLayout.Readme), Readme(request, family), new UTF8Encoding(false));
        });
    }

    private static void WriteWeights(string path, HfTensorMap map, IDecoderWeights weights)
    {
        var buffer = new float[CopyChunkElements];
        foreach (var part in map.OurTensors)
            if (!weights.Shape(part.Name).SequenceEqual(part.Shape))
                throw new InvalidDataException($"'{part.Name}' has shape [{string.Join(", ", weights.Shape(part.Name))}]; the architecture gives [{string.Join(", ", part.Shape)}].");
        SafeTensorsWriter.Write(path, map.Entries.Select(entry => new SafeTensorsWriter.Tensor(entry.HfName, "F32", entry.Shape, stream =>
        {
            // A fused tensor (OpenELM) is its parts' rows one after the other.
            foreach (var part in entry.Parts)
                for (long done = 0; done < part.Elements; done += buffer.Length)
                {
                    var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, part.Elements - done));
                    weights.Read(part.Name, done, chunk);
                    SafeTensorsWriter.WriteFloat32(stream, chunk);
                }
        })), new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>The importer's reading of the written config must be the architecture exported: otherwise the folder lies.</summary>
    private static void CheckReadsBack(string folder, HfFamily family, ArchitectureSpec a, double ropeBase)
    {
        var read = HfConfig.Read(folder);
        var expected = Canonical(a with { RopeBase = ropeBase });
        var actual = Canonical(read.Architecture);
        if (read.Family != family || expected != actual)
            throw new NotSupportedException($"{HfFamilies.ClassName(family)}'s config cannot describe this model exactly (it reads back as {actual}, not {expected}).");
    }

    /// <summary>What computes the model, with one spelling per shape (per-layer list or uniform fields, explicit or derived head width).</summary>
    private static string Canonical(ArchitectureSpec a) => JsonSerializer.Serialize(new
    {
        a.ModelDim, a.Layers, a.VocabSize, a.RopeBase, a.TieEmbeddings, a.QkNorm, a.MaxSequenceLength, a.NormEpsilon, a.HeadDim, a.AttentionBias,
        Shapes = Enumerable.Range(0, a.Layers).Select(a.Layer).ToList(),
    });

    private static void WriteJson(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", new UTF8Encoding(false));

    private static string Readme(HfExportRequest request, HfFamily family)
    {
        var text = new StringBuilder();
        text.Append("# ").Append(request.ModelName).Append(' ').Append(request.Version).Append("\n\n");
        text.Append("Exported by AfmToolchain in the Hugging Face layout as `").Append(HfFamilies.ClassName(family)).Append("`.\n\n");
        text.Append(request.Dequantized
            ? "- `model.safetensors`: the **quantized** model's weights, dequantized to float32. They compute what the compressed model computes; they are not the float weights it was quantized from.\n"
            : "- `model.safetensors`: the model's float32 weights, as trained.\n");
        text.Append("- `config.json`, `generation_config.json`: the architecture and the bos/eos token ids.\n");
        text.Append(request.WriteTokenizer is not null
            ? "- `tokenizer.json`, `tokenizer_config.json`: the model's tokenizer (a base model's own files, or the tokenizer trained here written as a byte-level BPE).\n"
            : "- No tokenizer files were written.\n");
        if (request.Adapters.Count > 0)
            text.Append("- `adapters/<name>/`: each LoRA adapter in PEFT's layout (`adapter_config.json`, `adapter_model.safetensors`); ")
                .Append("the training scale is folded into `lora_B`, so `lora_alpha` equals `r`.\n");
        if (HfFamily.OpenElm == family)
            text.Append("\n`OpenELMForCausalLM` is not part of transformers: load it with Apple's modeling_openelm.py (`trust_remote_code`).\n");
        return text.ToString();
    }
}
