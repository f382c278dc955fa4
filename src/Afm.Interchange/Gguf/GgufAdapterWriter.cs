using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Onnx.Adapters;
using Afm.Onnx.Export;

namespace Afm.Interchange.Gguf;

/// <summary>
/// Writes a LoRA adapter as a llama.cpp adapter GGUF (what llama-adapter.cpp loads and hot-swaps per context):
/// <c>general.type</c> = adapter, the base's <c>general.architecture</c>, <c>adapter.type</c> = lora and
/// <c>adapter.lora.alpha</c>; for each adapted base tensor W, <c>W.lora_a</c> with ggml dimensions [in, rank] and
/// <c>W.lora_b</c> [rank, out] (PyTorch's [rank, in] and [out, rank], ours as trained), F32. llama.cpp adds
/// <c>B (A x) * scale * alpha / rank</c>; our B already holds the LoRA scale, so alpha = rank makes that factor 1 at
/// the runtime's default scale. For the llama architecture the rows of B for q and k are permuted like the base's.
/// </summary>
public static class GgufAdapterWriter
{
    public static void Write(string path, ArchitectureSpec spec, TrainedAdapter adapter) =>
        AtomicOutput.WriteFile(path, stream => Write(stream, spec, adapter));

    public static void Write(Stream stream, ArchitectureSpec spec, TrainedAdapter adapter)
    {
        var arch = GgufArchitecture.For(spec);
        var metadata = new List<KeyValuePair<string, GgufValue>>
        {
            new(GgufNames.Keys.Architecture, GgufValue.Of(arch.Name)),
            new(GgufNames.Keys.Type, GgufValue.Of("adapter")),
            new(GgufNames.Keys.Name, GgufValue.Of(adapter.Name)),
            new(GgufNames.Keys.Version, GgufValue.Of(adapter.Version)),
            new(GgufNames.Keys.Alignment, GgufValue.Of((uint)GgufFormat.Alignment)),
            new(GgufNames.Keys.AdapterType, GgufValue.Of("lora")),
            new(GgufNames.Keys.LoraAlpha, GgufValue.Of((float)adapter.Rank)),
        };
        var tensors = new List<GgufTensor>();
        foreach (var weight in DecoderNames.AdaptableWeights(spec.Layers))
        {
            bool hasA = adapter.Tensors.TryGetValue(DecoderNames.LoraA(weight), out var a);
            bool hasB = adapter.Tensors.TryGetValue(DecoderNames.LoraB(weight), out var b);
            if (hasA != hasB) throw new ArgumentException($"Adapter '{adapter.Name}' has only one of {DecoderNames.LoraA(weight)} and {DecoderNames.LoraB(weight)}.");
            if (!hasA) continue;
            var baseName = GgufNames.ToGguf(weight)!;
            var bValues = b.Values;
            int layer = GgufNames.LayerOf(weight);
            if (weight.Contains(".attn.q_proj.", StringComparison.Ordinal)) bValues = arch.OrderRows(bValues, spec.Layer(layer).Heads, spec.HeadDim);
            else if (weight.Contains(".attn.k_proj.", StringComparison.Ordinal)) bValues = arch.OrderRows(bValues, spec.Layer(layer).KvHeads, spec.HeadDim);
            tensors.Add(new GgufTensor(GgufNames.LoraA(baseName), [a.Shape[1], a.Shape[0]], GgmlType.F32, GgmlBlocks.Encode(GgmlType.F32, a.Values)));
            tensors.Add(new GgufTensor(GgufNames.LoraB(baseName), [b.Shape[1], b.Shape[0]], GgmlType.F32, GgmlBlocks.Encode(GgmlType.F32, bValues)));
        }
        GgufWriter.Write(stream, metadata, tensors);
    }
}
