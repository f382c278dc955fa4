using Afm.Core.IO;
using Afm.Onnx.Export;

namespace Afm.Interchange.Gguf;

/// <summary>What a GGUF model file says about itself beside the weights.</summary>
/// <param name="Name">general.name (the model's name).</param>
/// <param name="Version">general.version.</param>
/// <param name="WeightsSource">Where the float weights come from (the train stage's, or the quantize stage's dequantized),
/// written as general.description.</param>
public sealed record GgufModelInfo(string Name, string Version, string WeightsSource);

/// <summary>
/// Writes our decoder as a llama.cpp model: the architecture of <see cref="GgufArchitecture.For"/>, its hyperparameters
/// under that architecture's keys, the tokenizer's <c>tokenizer.ggml.*</c> keys (given as plain data: a tokenizer's
/// GGUF description) and every weight under its GGUF name
/// (<see cref="GgufNames"/>) in the requested type where llama.cpp's own converters put it: the 2-D matrices in
/// <paramref name="type"/> when their rows are whole blocks (else F16), norms and biases always F32. In a Q4_0 file the
/// output matrix (the tied embedding, when tied) is Q8_0: llama-quantize gives it Q6_K, whose K-quant blocks are not
/// written here, and Q8_0 is its own fallback for Q6_K.
/// </summary>
public static class GgufModelWriter
{
    public static void Write(string path, DecoderModel model, IEnumerable<KeyValuePair<string, object>> tokenizer, GgufModelInfo info, GgmlType type) =>
        AtomicOutput.WriteFile(path, stream => Write(stream, model, tokenizer, info, type));

    public static void Write(Stream stream, DecoderModel model, IEnumerable<KeyValuePair<string, object>> tokenizer, GgufModelInfo info, GgmlType type)
    {
        var spec = model.Architecture;
        var arch = GgufArchitecture.For(spec);
        var tokenizerKeys = tokenizer.Select(p => new KeyValuePair<string, GgufValue>(p.Key, GgufValue.From(p.Value))).ToList();
        int tokens = tokenizerKeys.FirstOrDefault(p => p.Key == GgufNames.Keys.Tokens).Value?.Value is IReadOnlyList<string> list ? list.Count : -1;
        if (tokens != spec.VocabSize)
            throw new ArgumentException($"The tokenizer has {tokens} tokens ({GgufNames.Keys.Tokens}), the model's vocabulary {spec.VocabSize}.");
        GgufWriter.Write(stream, Metadata(model, arch, info, type).Concat(tokenizerKeys).ToList(), Tensors(model, arch, type).ToList());
    }

    private static IEnumerable<KeyValuePair<string, GgufValue>> Metadata(DecoderModel model, GgufArchitecture arch, GgufModelInfo info, GgmlType type)
    {
        var spec = model.Architecture;
        var layer = spec.Layer(0);
        string a = arch.Name;
        yield return new(GgufNames.Keys.Architecture, GgufValue.Of(a));
        yield return new(GgufNames.Keys.Type, GgufValue.Of("model"));
        yield return new(GgufNames.Keys.Name, GgufValue.Of(info.Name));
        yield return new(GgufNames.Keys.Version, GgufValue.Of(info.Version));
        yield return new(GgufNames.Keys.Description, GgufValue.Of(info.WeightsSource));
        yield return new(GgufNames.Keys.Alignment, GgufValue.Of((uint)GgufFormat.Alignment));
        yield return new(GgufNames.Keys.FileType, GgufValue.Of(GgufNames.FileType(type)));
        if (type is GgmlType.Q8_0 or GgmlType.Q4_0) yield return new(GgufNames.Keys.QuantizationVersion, GgufValue.Of(2u));
        yield return new(GgufNames.Keys.ContextLength(a), GgufValue.Of((uint)spec.MaxSequenceLength));
        yield return new(GgufNames.Keys.EmbeddingLength(a), GgufValue.Of((uint)spec.ModelDim));
        yield return new(GgufNames.Keys.BlockCount(a), GgufValue.Of((uint)spec.Layers));
        yield return new(GgufNames.Keys.FeedForwardLength(a), GgufValue.Of((uint)layer.FfnDim));
        yield return new(GgufNames.Keys.HeadCount(a), GgufValue.Of((uint)layer.Heads));
        yield return new(GgufNames.Keys.HeadCountKv(a), GgufValue.Of((uint)layer.KvHeads));
        yield return new(GgufNames.Keys.KeyLength(a), GgufValue.Of((uint)spec.HeadDim));
        yield return new(GgufNames.Keys.ValueLength(a), GgufValue.Of((uint)spec.HeadDim));
        yield return new(GgufNames.Keys.RopeDimensionCount(a), GgufValue.Of((uint)spec.HeadDim));
        yield return new(GgufNames.Keys.RopeFreqBase(a), GgufValue.Of((float)model.RopeBase));
        yield return new(GgufNames.Keys.RmsEpsilon(a), GgufValue.Of((float)spec.NormEpsilon));
        yield return new(GgufNames.Keys.VocabSize(a), GgufValue.Of((uint)spec.VocabSize));
    }

    private static IEnumerable<GgufTensor> Tensors(DecoderModel model, GgufArchitecture arch, GgmlType type)
    {
        var spec = model.Architecture;
        bool hasOutput = model.Weights.ContainsKey("lm_head.weight");
        // llama.cpp's order: embedding, then each layer, then the final norm and output (the order of convert_hf_to_gguf).
        var ordered = model.Weights.Keys
            .Select(name => (Name: name, Gguf: GgufNames.ToGguf(name) ?? throw new ArgumentException($"Weight '{name}' has no GGUF name.")))
            .OrderBy(p => p.Gguf.StartsWith("token_embd", StringComparison.Ordinal) ? -1 : GgufNames.LayerOf(p.Name) is var l and >= 0 ? l : int.MaxValue)
            .ThenBy(p => p.Gguf, StringComparer.Ordinal);
        foreach (var (name, ggufName) in ordered)
        {
            var weight = model.Weights[name] as FloatWeight
                ?? throw new ArgumentException($"Weight '{name}' is not float: dequantize it before writing GGUF.");
            var values = weight.Values;
            if (name.Contains(".attn.q_proj.", StringComparison.Ordinal)) values = arch.OrderRows(values, spec.Layer(GgufNames.LayerOf(name)).Heads, spec.HeadDim);
            else if (name.Contains(".attn.k_proj.", StringComparison.Ordinal)) values = arch.OrderRows(values, spec.Layer(GgufNames.LayerOf(name)).KvHeads, spec.HeadDim);
            long[] dimensions = weight.Shape.Reverse().ToArray();
            var tensorType = TypeOf(ggufName, dimensions, type, hasOutput);
            yield return new GgufTensor(ggufName, dimensions, tensorType, GgmlBlocks.Encode(tensorType, values));
        }
    }

    /// <summary>The type of one tensor in a file of <paramref name="fileType"/> (see the class remarks).</summary>
    internal static GgmlType TypeOf(string ggufName, long[] dimensions, GgmlType fileType, bool hasOutput)
    {
        if (dimensions.Length < 2 || fileType == GgmlType.F32) return GgmlType.F32;
        bool output = ggufName == "output.weight" || (!hasOutput && ggufName == "token_embd.weight");
        var wanted = fileType == GgmlType.Q4_0 && output ? GgmlType.Q8_0 : fileType;
        return GgmlBlocks.Fits(wanted, dimensions[0]) ? wanted : GgmlType.F16;
    }
}
