using System.Globalization;
using Afm.Core.Spec;
using Afm.Onnx.Graph;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Export;

/// <summary>
/// Writes the AFM decoder as one ONNX graph that serves both prefill and decode: it takes the new tokens and
/// the key/value cache of earlier positions, and returns logits for the new tokens plus the extended cache.
/// Positions and the attention bias come from an optional key-padding mask (default: no padding), so a batch may hold
/// sequences of different lengths and a caller with one sequence passes only ids and cache. The residual stream is kept
/// 2-D ([batch*time, dim]) so every projection is one Gemm over the weight in its training layout (its bias, when the
/// architecture has q/k/v biases, as the Gemm's C). Each layer has its own head counts and FFN width
/// (<see cref="ArchitectureSpec.Layer"/>), so each layer's cache has its own number of key/value heads.
/// </summary>
internal sealed class DecoderGraph
{
    private readonly OnnxGraphBuilder graph = new();
    private readonly DecoderModel model;
    private readonly ArchitectureSpec arch;
    private readonly DecoderOps ops;
    private readonly FusedDecoderOps fused;
    private readonly int headDim;

    private string idsShape = "", cos = "", sin = "", attentionBias = "";
    // The fused graph's (OnnxOps.Fused): GroupQueryAttention's lengths, and its cos/sin caches when it rotates itself.
    private (string SeqlensK, string Total) lengths;
    private (string Cos, string Sin)? rotaryCaches;

    public DecoderGraph(DecoderModel model)
    {
        this.model = model;
        arch = model.Architecture;
        ops = new DecoderOps(graph, (float)arch.NormEpsilon);
        fused = new FusedDecoderOps(graph, ops, (float)arch.NormEpsilon);
        headDim = arch.HeadDim;
        // A graph that runs resident weights (contrib ops) keeps the int8 embedding resident too; others stay standard opset 17.
        if (model.Weights.TryGetValue("embed.weight", out var embed) && embed is Int8ChannelWeight q && ResidentEmbedding.BlockSize(q.Columns) is not null
            && model.Weights.Values.Any(w => NBitsLinear.Of(w) is not null))
            residentEmbedding = ResidentEmbedding.Emit(graph, "embed.weight", q);
    }

    private bool Fused => model.Ops == OnnxOps.Fused;
    private readonly ResidentEmbedding.Tables? residentEmbedding;

    public OnnxGraphBuilder Build()
    {
        var inputIds = graph.Input(DecoderNames.InputIds, DataType.Int64, "batch", "sequence");
        for (int layer = 0; layer < arch.Layers; layer++)
        {
            long kvHeads = arch.Layer(layer).KvHeads;
            graph.Input(DecoderNames.PastKey(layer), DataType.Float, "batch", kvHeads, "past_sequence", (long)headDim);
            graph.Input(DecoderNames.PastValue(layer), DataType.Float, "batch", kvHeads, "past_sequence", (long)headDim);
        }

        // The float (or expanded) table first, outside any scope, as before resident weights: node names and order unchanged.
        var embedding = residentEmbedding is null ? Weight("embed.weight") : null;
        using (graph.Scope(DecoderNames.Scopes.Positions)) idsShape = graph.Node("Shape", [inputIds]);
        string x;
        using (graph.Scope(DecoderNames.Scopes.Embed))
            x = embedding is null ? ResidentEmbedding.Lookup(graph, "embed.weight", residentEmbedding!, inputIds) : ops.Embed(embedding, inputIds);
        string normalized;
        if (Fused)
        {
            BuildFusedPositions();
            normalized = FusedBlocks(x);
        }
        else
        {
            BuildPositions();
            for (int layer = 0; layer < arch.Layers; layer++)
                using (graph.Scope(DecoderNames.Scopes.Layer(layer))) x = Block(layer, x);
            using (graph.Scope(DecoderNames.Scopes.Head)) normalized = ops.RmsNorm(x, Weight("norm.weight"));
        }

        using var head = graph.Scope(DecoderNames.Scopes.Head);
        var logits2d = Linear(normalized, arch.TieEmbeddings ? "embed.weight" : "lm_head.weight", null);
        var logitsShape = graph.Node("Concat", [idsShape, graph.Int64s(arch.VocabSize)], null, Attr.Int("axis", 0));
        graph.Output(ops.Reshape(logits2d, logitsShape), DecoderNames.Logits, DataType.Float, "batch", "sequence", (long)arch.VocabSize);
        return graph;
    }

    /// <summary>The RoPE tables and the positions, cos/sin rows and causal + padding bias of this call (<see cref="DecoderOps.Positions"/>).</summary>
    private void BuildPositions()
    {
        var (cosTable, sinTable) = RopeTables.Build(arch.MaxSequenceLength, headDim, model.RopeBase);
        var cosName = graph.Initializer("rope.cos", cosTable, arch.MaxSequenceLength, headDim);
        var sinName = graph.Initializer("rope.sin", sinTable, arch.MaxSequenceLength, headDim);
        var mask = graph.OptionalInt64Input(DecoderNames.AttentionMask, [1L], [1, 1], "batch", "total_sequence");
        (cos, sin, attentionBias) = ops.Positions(DecoderNames.InputIds, DecoderNames.PastKey(0), mask, cosName, sinName);
    }

    /// <summary>
    /// GroupQueryAttention's lengths from the (required) right-padded mask, and the RoPE tables: its cos/sin caches
    /// [max_sequence_length, head_dim / 2] (the first half of the rows, both halves being equal) when it rotates itself,
    /// else the full rows of this call's positions for the graph's own RoPE.
    /// </summary>
    private void BuildFusedPositions()
    {
        var mask = graph.Input(DecoderNames.AttentionMask, DataType.Int64, "batch", "total_sequence");
        lengths = fused.Lengths(mask);
        var (cosTable, sinTable) = RopeTables.Build(arch.MaxSequenceLength, headDim, model.RopeBase);
        if (FusedDecoderOps.RotaryInside(headDim))
        {
            int half = headDim / 2;
            float[] Half(float[] table) => Enumerable.Range(0, arch.MaxSequenceLength).SelectMany(row => table.AsSpan(row * headDim, half).ToArray()).ToArray();
            rotaryCaches = (graph.Initializer("rope.cos_cache", Half(cosTable), arch.MaxSequenceLength, half),
                graph.Initializer("rope.sin_cache", Half(sinTable), arch.MaxSequenceLength, half));
            return;
        }
        var cosName = graph.Initializer("rope.cos", cosTable, arch.MaxSequenceLength, headDim);
        var sinName = graph.Initializer("rope.sin", sinTable, arch.MaxSequenceLength, headDim);
        (cos, sin) = fused.RopeRows(DecoderNames.InputIds, mask, cosName, sinName);
    }

    /// <summary>
    /// The layers of the fused graph; returns the final norm's output. Each residual addition is fused into the RMSNorm after
    /// it (SkipSimplifiedLayerNormalization), so a block's output is carried to the next norm as its skip input.
    /// </summary>
    private string FusedBlocks(string x)
    {
        string? pending = null;
        for (int layer = 0; layer < arch.Layers; layer++)
        {
            using var scope = graph.Scope(DecoderNames.Scopes.Layer(layer));
            string p = $"layers.{layer.ToString(CultureInfo.InvariantCulture)}.", h;
            if (pending is null) h = fused.RmsNorm(x, Weight(p + "attn_norm.weight"));
            else (h, x) = fused.AddAndRmsNorm(x, pending, Weight(p + "attn_norm.weight"));
            (h, x) = fused.AddAndRmsNorm(x, FusedAttention(layer, p, h), Weight(p + "mlp_norm.weight"));
            var hidden = ops.SwiGlu(Projection(h, p + "mlp.gate_proj.weight"), Projection(h, p + "mlp.up_proj.weight"));
            pending = Projection(hidden, p + "mlp.down_proj.weight");
        }
        using var head = graph.Scope(DecoderNames.Scopes.Head);
        return pending is null ? fused.RmsNorm(x, Weight("norm.weight")) : fused.AddAndRmsNorm(x, pending, Weight("norm.weight")).Normalized;
    }

    /// <summary>One layer's GroupQueryAttention; its present key/value are the cache outputs (<see cref="FusedDecoderOps.Attention"/>).</summary>
    private string FusedAttention(int layer, string p, string h)
    {
        var shape = arch.Layer(layer);
        (string, string)? rope = rotaryCaches is null ? (cos, sin) : null;
        var q = FusedHeads(Projection(h, p + "attn.q_proj.weight", arch.AttentionBias), shape.Heads, p + "attn.q_norm.weight", rope);
        var k = FusedHeads(Projection(h, p + "attn.k_proj.weight", arch.AttentionBias), shape.KvHeads, p + "attn.k_norm.weight", rope);
        var v = FusedHeads(Projection(h, p + "attn.v_proj.weight", arch.AttentionBias), shape.KvHeads, null, null);
        var merged = fused.Attention(q, k, v, DecoderNames.PastKey(layer), DecoderNames.PastValue(layer),
            DecoderNames.PresentKey(layer), DecoderNames.PresentValue(layer), lengths, rotaryCaches, shape.Heads, shape.KvHeads, headDim);
        object[] cacheDims = ["batch", (long)shape.KvHeads, "present_sequence", (long)headDim];
        graph.Output(DecoderNames.PresentKey(layer), DecoderNames.PresentKey(layer), DataType.Float, cacheDims);
        graph.Output(DecoderNames.PresentValue(layer), DecoderNames.PresentValue(layer), DataType.Float, cacheDims);
        return Projection(merged, p + "attn.o_proj.weight");
    }

    /// <summary>[batch*time, heads*headDim] -> [batch, time, heads*headDim], through QK-norm and the graph's RoPE when it has them.</summary>
    private string FusedHeads(string projected, int heads, string? normWeight, (string Cos, string Sin)? rope)
    {
        var norm = arch.QkNorm && normWeight is not null ? Weight(normWeight) : null;
        return fused.Heads(projected, ops.HeadsShape(idsShape, heads, headDim), norm, rope, headDim);
    }

    private string Block(int layer, string x)
    {
        string p = $"layers.{layer.ToString(CultureInfo.InvariantCulture)}.";
        x = graph.Node("Add", [x, Attention(layer, p, ops.RmsNorm(x, Weight(p + "attn_norm.weight")))]);
        var h = ops.RmsNorm(x, Weight(p + "mlp_norm.weight"));
        var hidden = ops.SwiGlu(Projection(h, p + "mlp.gate_proj.weight"), Projection(h, p + "mlp.up_proj.weight"));
        return graph.Node("Add", [x, Projection(hidden, p + "mlp.down_proj.weight")]);
    }

    /// <summary>Grouped-query attention over the cache extended by this call's keys and values (<see cref="DecoderOps.GroupedAttention"/>).</summary>
    private string Attention(int layer, string p, string h)
    {
        var shape = arch.Layer(layer);
        var q = Heads(Projection(h, p + "attn.q_proj.weight", arch.AttentionBias), shape.Heads, p + "attn.q_norm.weight");
        var k = Heads(Projection(h, p + "attn.k_proj.weight", arch.AttentionBias), shape.KvHeads, p + "attn.k_norm.weight");
        var v = Heads(Projection(h, p + "attn.v_proj.weight", arch.AttentionBias), shape.KvHeads, null);
        q = ops.Rope(q, cos, sin, headDim);
        k = ops.Rope(k, cos, sin, headDim);

        var keys = ops.AppendToCache(DecoderNames.PastKey(layer), k, DecoderNames.PresentKey(layer));
        var values = ops.AppendToCache(DecoderNames.PastValue(layer), v, DecoderNames.PresentValue(layer));
        object[] cacheDims = ["batch", (long)shape.KvHeads, "total_sequence", (long)headDim];
        graph.Output(keys, keys, DataType.Float, cacheDims);
        graph.Output(values, values, DataType.Float, cacheDims);

        var merged = ops.GroupedAttention(q, keys, values, attentionBias, shape.Heads, shape.KvHeads, headDim);
        return Projection(merged, p + "attn.o_proj.weight");
    }

    /// <summary>[batch*time, heads*headDim] -> [batch, heads, time, headDim], with per-head RMSNorm (QK-norm) first.</summary>
    private string Heads(string projected, int heads, string? normWeight) =>
        ops.SplitHeads(projected, ops.HeadsShape(idsShape, heads, headDim), arch.QkNorm && normWeight is not null ? Weight(normWeight) : null);

    /// <summary>
    /// x times the weight transposed (plus its bias <c>N.bias</c> when <paramref name="bias"/>), plus the LoRA term when
    /// the model exports adapter inputs: an active adapter feeds <c>N.lora_A</c>/<c>N.lora_B</c>; with none, their empty
    /// defaults make the term an exact zero.
    /// </summary>
    private string Projection(string x, string weightName, bool bias = false)
    {
        var projected = Linear(x, weightName, bias ? Bias(weightName[..^"weight".Length] + "bias") : null);
        if (!model.LoraInputs) return projected;
        var shape = model.Weights[weightName].Shape;
        // In the projection's scope: the profiler charges the adapter's kernels to the projection they belong to.
        using var scope = graph.Scope(DecoderNames.Scopes.OfWeight(weightName));
        return LoraProjection.Apply(graph, x, projected, weightName, shape[0], shape[1]);
    }

    /// <summary>One MatMulNBits over the resident compressed weight when its layout maps exactly (<see cref="NBitsLinear"/>), else Gemm over its float value.</summary>
    private string Linear(string x, string weightName, string? bias) =>
        weightName == "embed.weight" && residentEmbedding is { } table && bias is null ? ResidentEmbedding.Head(graph, x, weightName, table, model.NBitsActivations)
        : model.Weights.TryGetValue(weightName, out var weight) && NBitsLinear.Of(weight) is { } layout
            ? NBitsLinear.Emit(graph, x, weightName, weight, layout, bias, model.NBitsActivations)
            : ops.Linear(x, Weight(weightName), bias);

    private readonly Dictionary<string, string> emitted = new(StringComparer.Ordinal);

    /// <summary>A projection's bias: float32 whatever the weights' form (specs/onnx-export.md: biases are never quantized).</summary>
    private string Bias(string name)
    {
        if (model.Weights.TryGetValue(name, out var weight) && weight is not FloatWeight)
            throw new InvalidDataException($"The bias '{name}' is stored as {weight.GetType().Name}; biases stay float32.");
        return Weight(name);
    }

    private string Weight(string name)
    {
        if (emitted.TryGetValue(name, out var value)) return value;
        if (!model.Weights.TryGetValue(name, out var weight))
            throw new InvalidDataException($"The model has no weight '{name}', which its architecture needs.");
        return emitted[name] = WeightLowering.Emit(graph, name, weight);
    }
}
