using System.Globalization;
using Afm.Core.Spec;
using Afm.Onnx.Graph;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Export;

/// <summary>
/// Writes the AFM decoder as one ONNX graph that serves both prefill and decode: it takes the new tokens and
/// the key/value cache of earlier positions, and returns logits for the new tokens plus the extended cache.
/// Positions are derived from the cache length, so a caller never passes them. The residual stream is kept
/// 2-D ([batch*time, dim]) so every projection is one Gemm over the weight in its training layout.
/// </summary>
internal sealed class DecoderGraph
{
    private readonly OnnxGraphBuilder graph = new();
    private readonly DecoderModel model;
    private readonly ArchitectureSpec arch;
    private readonly DecoderOps ops;
    private readonly int headDim;
    private readonly int groups;

    private string idsShape = "", cos = "", sin = "", attentionBias = "";

    public DecoderGraph(DecoderModel model)
    {
        this.model = model;
        arch = model.Architecture;
        ops = new DecoderOps(graph, (float)arch.NormEpsilon);
        headDim = arch.HeadDim;
        groups = arch.Heads / arch.KvHeads;
    }

    public OnnxGraphBuilder Build()
    {
        var inputIds = graph.Input(DecoderNames.InputIds, DataType.Int64, "batch", "sequence");
        for (int layer = 0; layer < arch.Layers; layer++)
        {
            graph.Input(DecoderNames.PastKey(layer), DataType.Float, "batch", (long)arch.KvHeads, "past_sequence", (long)headDim);
            graph.Input(DecoderNames.PastValue(layer), DataType.Float, "batch", (long)arch.KvHeads, "past_sequence", (long)headDim);
        }

        var embedding = Weight("embed.weight");
        idsShape = graph.Node("Shape", [inputIds]);
        var x = graph.Node("Gather", [embedding, ops.Reshape(inputIds, graph.Int64s(-1))], null, Attr.Int("axis", 0));
        BuildPositions();

        for (int layer = 0; layer < arch.Layers; layer++) x = Block(layer, x);

        var normalized = ops.RmsNorm(x, Weight("norm.weight"));
        var output = arch.TieEmbeddings ? embedding : Weight("lm_head.weight");
        var logits2d = ops.Linear(normalized, output);
        var logitsShape = graph.Node("Concat", [idsShape, graph.Int64s(arch.VocabSize)], null, Attr.Int("axis", 0));
        graph.Output(ops.Reshape(logits2d, logitsShape), DecoderNames.Logits, DataType.Float, "batch", "sequence", (long)arch.VocabSize);
        return graph;
    }

    /// <summary>
    /// Positions past..past+time-1 of the new tokens (past = cache length), their cos/sin rows, and the causal
    /// bias [time, past+time]: 0 where a key is at or before the query's position, -inf after it.
    /// </summary>
    private void BuildPositions()
    {
        var pastLength = graph.Node("Shape", [DecoderNames.PastKey(0)], null, Attr.Int("start", 2), Attr.Int("end", 3));
        var newLength = graph.Node("Shape", [DecoderNames.InputIds], null, Attr.Int("start", 1), Attr.Int("end", 2));
        var total = ops.Squeeze(graph.Node("Add", [pastLength, newLength]), 0);
        var one = graph.Int64Scalar(1);
        var queryPositions = graph.Node("Range", [ops.Squeeze(pastLength, 0), total, one]);
        var keyPositions = graph.Node("Range", [graph.Int64Scalar(0), total, one]);

        var (cosTable, sinTable) = RopeTables.Build(arch.MaxSequenceLength, headDim, model.RopeBase);
        var cosName = graph.Initializer("rope.cos", cosTable, arch.MaxSequenceLength, headDim);
        var sinName = graph.Initializer("rope.sin", sinTable, arch.MaxSequenceLength, headDim);
        cos = graph.Node("Gather", [cosName, queryPositions], null, Attr.Int("axis", 0));
        sin = graph.Node("Gather", [sinName, queryPositions], null, Attr.Int("axis", 0));

        var future = graph.Node("Greater", [ops.Unsqueeze(keyPositions, 0), ops.Unsqueeze(queryPositions, 1)]);
        attentionBias = graph.Node("Where", [future, graph.FloatScalar(float.NegativeInfinity), graph.FloatScalar(0f)]);
    }

    private string Block(int layer, string x)
    {
        string p = $"layers.{layer.ToString(CultureInfo.InvariantCulture)}.";
        x = graph.Node("Add", [x, Attention(layer, p, ops.RmsNorm(x, Weight(p + "attn_norm.weight")))]);
        var h = ops.RmsNorm(x, Weight(p + "mlp_norm.weight"));
        var hidden = ops.SwiGlu(Projection(h, p + "mlp.gate_proj.weight"), Projection(h, p + "mlp.up_proj.weight"));
        return graph.Node("Add", [x, Projection(hidden, p + "mlp.down_proj.weight")]);
    }

    /// <summary>
    /// Grouped-query attention without copying the cache per query head: queries are viewed as
    /// [batch, kvHeads, groups, time, headDim] and broadcast against keys [batch, kvHeads, 1, ...]. Query head h
    /// uses key/value head h / groups, which is what repeat_interleave does in training.
    /// </summary>
    private string Attention(int layer, string p, string h)
    {
        var q = Heads(Projection(h, p + "attn.q_proj.weight"), arch.Heads, p + "attn.q_norm.weight");
        var k = Heads(Projection(h, p + "attn.k_proj.weight"), arch.KvHeads, p + "attn.k_norm.weight");
        var v = Heads(Projection(h, p + "attn.v_proj.weight"), arch.KvHeads, null);
        q = ops.Rope(q, cos, sin, headDim);
        k = ops.Rope(k, cos, sin, headDim);

        var keys = graph.Node("Concat", [DecoderNames.PastKey(layer), k], DecoderNames.PresentKey(layer), Attr.Int("axis", 2));
        var values = graph.Node("Concat", [DecoderNames.PastValue(layer), v], DecoderNames.PresentValue(layer), Attr.Int("axis", 2));
        object[] cacheDims = ["batch", (long)arch.KvHeads, "total_sequence", (long)headDim];
        graph.Output(keys, keys, DataType.Float, cacheDims);
        graph.Output(values, values, DataType.Float, cacheDims);

        var grouped = ops.Reshape(q, graph.Int64s(0, arch.KvHeads, groups, -1, headDim));
        var keysT = ops.Unsqueeze(ops.Transpose(keys, 0, 1, 3, 2), 2);
        var scores = graph.Node("MatMul", [grouped, keysT]);
        scores = graph.Node("Mul", [scores, graph.FloatScalar((float)(1.0 / Math.Sqrt(headDim)))]);
        var probabilities = graph.Node("Softmax", [graph.Node("Add", [scores, attentionBias])], null, Attr.Int("axis", -1));
        var context = graph.Node("MatMul", [probabilities, ops.Unsqueeze(values, 2)]);

        var perHead = ops.Reshape(context, graph.Int64s(0, arch.Heads, -1, headDim));
        var merged = ops.Reshape(ops.Transpose(perHead, 0, 2, 1, 3), graph.Int64s(-1, arch.Heads * headDim));
        return Projection(merged, p + "attn.o_proj.weight");
    }

    /// <summary>[batch*time, heads*headDim] -> [batch, heads, time, headDim], with per-head RMSNorm (QK-norm) first.</summary>
    private string Heads(string projected, int heads, string? normWeight)
    {
        var shape = graph.Node("Concat", [idsShape, graph.Int64s(heads, headDim)], null, Attr.Int("axis", 0));
        var x = ops.Reshape(projected, shape);
        if (arch.QkNorm && normWeight is not null) x = ops.RmsNorm(x, Weight(normWeight));
        return ops.Transpose(x, 0, 2, 1, 3);
    }

    /// <summary>
    /// x times the weight transposed, plus the LoRA term when the model exports adapter inputs: an active adapter
    /// feeds <c>N.lora_A</c>/<c>N.lora_B</c>; with none, their empty defaults make the term an exact zero.
    /// </summary>
    private string Projection(string x, string weightName)
    {
        var projected = ops.Linear(x, Weight(weightName));
        if (!model.LoraInputs) return projected;
        var shape = model.Weights[weightName].Shape;
        return LoraProjection.Apply(graph, x, projected, weightName, shape[0], shape[1]);
    }

    private readonly Dictionary<string, string> emitted = new(StringComparer.Ordinal);

    private string Weight(string name)
    {
        if (emitted.TryGetValue(name, out var value)) return value;
        if (!model.Weights.TryGetValue(name, out var weight))
            throw new InvalidDataException($"The model has no weight '{name}', which its architecture needs.");
        return emitted[name] = WeightLowering.Emit(graph, name, weight);
    }
}
