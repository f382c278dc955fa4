using Afm.Core.Spec;
using Afm.Onnx.Export;
using Afm.Profiling.Formats;

namespace Afm.Profiling.Measurement;

/// <summary>
/// The whole exported model.onnx as `afm run` calls it: prefill of a prompt from an empty cache, or one decode step with
/// a cache of <c>context - 1</c> earlier positions (so the step attends to <c>context</c> keys). Its kernels are timed
/// with ONNX Runtime's profiler like any graph (<see cref="OrtOpTimer"/>) and attributed to the cost model's ops by the
/// scopes in their names (<see cref="KernelAttribution"/>). A fused graph runs as DecoderSession runs it: its cache buffers hold
/// <c>context</c> positions and are written in place (present bound to past), with the attention_mask of the real positions.
/// </summary>
public static class WholeModel
{
    public static MicroGraph Run(byte[] model, ArchitectureSpec arch, Phase phase, int promptTokens, int contextTokens, int seed = 1) =>
        Run(model, arch, phase, promptTokens, contextTokens, Afm.Core.Spec.OnnxOps.Standard, seed);

    public static MicroGraph Run(byte[] model, ArchitectureSpec arch, Phase phase, int promptTokens, int contextTokens, Afm.Core.Spec.OnnxOps ops, int seed = 1)
    {
        if (ops == Afm.Core.Spec.OnnxOps.Fused) return RunInPlace(model, arch, phase, promptTokens, contextTokens, seed);
        var random = new Random(seed);
        long n = phase == Phase.Prefill ? promptTokens : 1;
        long past = phase == Phase.Prefill ? 0 : contextTokens - 1;
        var inputs = new List<MicroInput>
        {
            new(DecoderNames.InputIds, [1, n], null, Enumerable.Range(0, (int)n).Select(_ => (long)random.Next(arch.VocabSize)).ToArray()),
        };
        float[] Cache(long[] cacheShape)
        {
            var values = new float[cacheShape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
            return values;
        }
        var outputs = new List<string> { DecoderNames.Logits };
        for (int layer = 0; layer < arch.Layers; layer++)
        {
            long[] cacheShape = [1, arch.Layer(layer).KvHeads, past, arch.HeadDim];
            inputs.Add(new(DecoderNames.PastKey(layer), cacheShape, Cache(cacheShape), null));
            inputs.Add(new(DecoderNames.PastValue(layer), cacheShape, Cache(cacheShape), null));
            outputs.Add(DecoderNames.PresentKey(layer));
            outputs.Add(DecoderNames.PresentValue(layer));
        }
        return new MicroGraph($"model.onnx {(phase == Phase.Prefill ? "prefill" : "decode")}", model, inputs, outputs, 0);
    }

    private static MicroGraph RunInPlace(byte[] model, ArchitectureSpec arch, Phase phase, int promptTokens, int contextTokens, int seed)
    {
        var random = new Random(seed);
        long n = phase == Phase.Prefill ? promptTokens : 1;
        long past = phase == Phase.Prefill ? 0 : contextTokens - 1;
        var inputs = new List<MicroInput>
        {
            new(DecoderNames.InputIds, [1, n], null, Enumerable.Range(0, (int)n).Select(_ => (long)random.Next(arch.VocabSize)).ToArray()),
            new(DecoderNames.AttentionMask, [1, past + n], null, Enumerable.Repeat(1L, (int)(past + n)).ToArray()),
        };
        var outputs = new List<MicroOutput> { new(DecoderNames.Logits, [1, n, arch.VocabSize], null) };
        for (int layer = 0; layer < arch.Layers; layer++)
        {
            long[] buffer = [1, arch.Layer(layer).KvHeads, contextTokens, arch.HeadDim];
            var values = new float[buffer.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
            inputs.Add(new(DecoderNames.PastKey(layer), buffer, values, null));
            inputs.Add(new(DecoderNames.PastValue(layer), buffer, (float[])values.Clone(), null));
            outputs.Add(new(DecoderNames.PresentKey(layer), buffer, DecoderNames.PastKey(layer)));
            outputs.Add(new(DecoderNames.PresentValue(layer), buffer, DecoderNames.PastValue(layer)));
        }
        return new MicroGraph($"model.onnx {(phase == Phase.Prefill ? "prefill" : "decode")} (in place)", model, inputs, outputs.Select(o => o.Name).ToList(), 0)
            { BoundOutputs = outputs };
    }

    /// <summary>Milliseconds and kernels per op: the sum of the times of the kernels attributed to it.</summary>
    public static IReadOnlyDictionary<string, (double Milliseconds, int Kernels)> PerOp(IReadOnlyList<NodeTime> nodes)
    {
        var ops = KernelAttribution.Attribute(nodes.Select(n => n.Name).ToList());
        var result = new Dictionary<string, (double, int)>(StringComparer.Ordinal);
        for (int i = 0; i < nodes.Count; i++)
        {
            var (ms, kernels) = result.GetValueOrDefault(ops[i]);
            result[ops[i]] = (ms + nodes[i].Milliseconds, kernels + 1);
        }
        return result;
    }
}
