using Afm.Core.Spec;
using Afm.Onnx.Graph;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Export;

/// <summary>
/// The decoder's attention, norms and residual additions as the contrib kernels ONNX Runtime itself runs decoder LLMs
/// with (<see cref="OnnxOps.Fused"/>, specs/onnx-export.md "The fused graph"): GroupQueryAttention with its own KV cache
/// handling (past and present may be one buffer, so a decode step copies nothing), SimplifiedLayerNormalization and
/// SkipSimplifiedLayerNormalization. Input and attribute semantics are those of onnxruntime/contrib_ops/cpu/bert
/// (group_query_attention_helper.h) and docs/ContribOperators.md of ONNX Runtime 1.31; names as in <see cref="DecoderOps"/>.
/// </summary>
internal sealed class FusedDecoderOps(OnnxGraphBuilder graph, DecoderOps ops, float normEpsilon)
{

    /// <summary>
    /// Whether GroupQueryAttention applies RoPE itself (after QK-norm, which the graph applies to its inputs): its CPU kernel
    /// (1.31) rotates only a head width that is a multiple of 16 (cos/sin caches head_dim / 2 wide, a multiple of 8).
    /// </summary>
    public static bool RotaryInside(int headDim) => headDim % 16 == 0;

    /// <summary>x / sqrt(mean(x^2) + eps) * weight over the last axis, as one kernel.</summary>
    public string RmsNorm(string x, string weight)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.OfWeight(weight));
        return graph.Node("SimplifiedLayerNormalization", [x, weight], null,
            Attr.Int("axis", -1), Attr.Float("epsilon", normEpsilon), Attr.Int("stash_type", 1));
    }

    /// <summary>The residual sum x + skip and its RMSNorm by <paramref name="weight"/>, as one kernel: (normalized, sum).</summary>
    public (string Normalized, string Sum) AddAndRmsNorm(string x, string skip, string weight)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.OfWeight(weight));
        var normalized = graph.Fresh("SkipSimplifiedLayerNormalization");
        var sum = graph.Fresh("residual");
        // Outputs: output, mean (unused), inv_std_var (unused), input_skip_bias_sum.
        graph.DomainNode(DecoderNames.Contrib.Domain, "SkipSimplifiedLayerNormalization", [x, skip, weight], [normalized, "", "", sum],
            Attr.Float("epsilon", normEpsilon));
        return (normalized, sum);
    }

    /// <summary>
    /// What GroupQueryAttention takes from the key-padding mask [batch, total] (right padding only: a row's real tokens come
    /// first): <c>seqlens_k</c> = real tokens - 1 per row (int32 [batch]) and <c>total_sequence_length</c> = total (int32 [1]).
    /// </summary>
    public (string SeqlensK, string TotalLength) Lengths(string mask)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Positions);
        var real = graph.Node("ReduceSum", [mask, graph.Int64s(1)], null, Attr.Int("keepdims", 0));
        var seqlensK = graph.Node("Cast", [graph.Node("Sub", [real, graph.Int64Scalar(1)])], null, Attr.Int("to", (long)DataType.Int32));
        var total = graph.Node("Cast", [graph.Node("Shape", [mask], null, Attr.Int("start", 1), Attr.Int("end", 2))], null, Attr.Int("to", (long)DataType.Int32));
        return (seqlensK, total);
    }

    /// <summary>
    /// cos/sin rows [batch, time, 1, headDim] of this call's tokens, for RoPE outside GroupQueryAttention (head widths it
    /// cannot rotate): a token's position is the number of real tokens before it, as in <see cref="DecoderOps.Positions"/>.
    /// </summary>
    public (string Cos, string Sin) RopeRows(string inputIds, string mask, string cosTable, string sinTable)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Positions);
        var one = graph.Int64Scalar(1);
        var positions = graph.Node("Sub", [graph.Node("CumSum", [mask, one]), one]);
        var newLength = graph.Node("Shape", [inputIds], null, Attr.Int("start", 1), Attr.Int("end", 2));
        var first = graph.Node("Sub", [graph.Node("Shape", [mask], null, Attr.Int("start", 1), Attr.Int("end", 2)), newLength]);
        positions = graph.Node("Slice", [positions, first, graph.Int64s(long.MaxValue), graph.Int64s(1)]);
        positions = graph.Node("Max", [positions, graph.Int64Scalar(0)]);
        var cos = ops.Unsqueeze(graph.Node("Gather", [cosTable, positions], null, Attr.Int("axis", 0)), 2);
        var sin = ops.Unsqueeze(graph.Node("Gather", [sinTable, positions], null, Attr.Int("axis", 0)), 2);
        return (cos, sin);
    }

    /// <summary>
    /// Projected [batch*time, heads*headDim] -> GroupQueryAttention's [batch, time, heads*headDim], with the per-head RMSNorm
    /// (QK-norm) and, when GroupQueryAttention does not rotate, RoPE applied on the way (QK-norm before RoPE, as in training).
    /// </summary>
    public string Heads(string projected, string headsShape, string? normWeight, (string Cos, string Sin)? rope, int headDim)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Attention);
        var x = ops.Reshape(projected, headsShape);
        if (normWeight is not null) x = RmsNorm(x, normWeight);
        if (rope is { } r) x = ops.Rope(x, r.Cos, r.Sin, headDim);
        return ops.Reshape(x, graph.Int64s(0, 0, -1));
    }

    /// <summary>
    /// GroupQueryAttention of one layer: queries [batch, time, heads*headDim], keys and values [batch, time, kvHeads*headDim];
    /// the layer's cache is written in place when the caller binds present to past (else present = past + new). Query head
    /// h reads key/value head h / (heads / kvHeads), as training's repeat_interleave. Returns [batch*time, heads*headDim].
    /// </summary>
    public string Attention(string q, string k, string v, string pastKey, string pastValue, string presentKey, string presentValue,
        (string SeqlensK, string Total) lengths, (string Cos, string Sin)? rotary, int heads, int kvHeads, int headDim)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Attention);
        var output = graph.Fresh("GroupQueryAttention");
        string[] inputs = rotary is { } r
            ? [q, k, v, pastKey, pastValue, lengths.SeqlensK, lengths.Total, r.Cos, r.Sin]
            : [q, k, v, pastKey, pastValue, lengths.SeqlensK, lengths.Total];
        graph.DomainNode(DecoderNames.Contrib.Domain, "GroupQueryAttention", inputs, [output, presentKey, presentValue],
            Attr.Int("num_heads", heads), Attr.Int("kv_num_heads", kvHeads), Attr.Int("do_rotary", rotary is null ? 0 : 1),
            Attr.Int("rotary_interleaved", 0), Attr.Float("scale", (float)(1.0 / Math.Sqrt(headDim))));
        return ops.Reshape(output, graph.Int64s(-1, heads * (long)headDim));
    }
}
