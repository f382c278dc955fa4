using Afm.Onnx.Graph;

namespace Afm.Onnx.Export;

/// <summary>
/// The decoder's building blocks written as standard ONNX ops (opset <see cref="DecoderExporter.Opset"/>). The exporter
/// and the profiler's per-op micro graphs (Afm.Profiling) both build from these methods, so a timed op is the exported
/// op. Norms and projections name their nodes by their weight (<c>layers.0.attn.q_proj/Gemm_7</c>), the weightless ops
/// by <see cref="DecoderNames.Scopes"/>: the profiler attributes each kernel of the whole model to its op by that name.
/// </summary>
internal sealed class DecoderOps(OnnxGraphBuilder graph, float normEpsilon)
{
    /// <summary>
    /// x / sqrt(mean(x^2, last axis) + eps) * weight, as Afm.Training's RmsNorm. Written as exactly
    /// Pow(2) -> ReduceMean -> Add -> Sqrt -> Div -> Mul so ONNX Runtime's optimizer fuses the six nodes into one
    /// SimplifiedLayerNormalization kernel: in a small model per-node overhead, not arithmetic, sets decode speed.
    /// </summary>
    public string RmsNorm(string x, string weight)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.OfWeight(weight));
        var squared = graph.Node("Pow", [x, graph.FloatScalar(2f)]);
        var mean = graph.Node("ReduceMean", [squared], null, Attr.Ints("axes", -1), Attr.Int("keepdims", 1));
        var rms = graph.Node("Sqrt", [graph.Node("Add", [mean, graph.FloatScalar(normEpsilon)])]);
        return graph.Node("Mul", [graph.Node("Div", [x, rms]), weight]);
    }

    /// <summary>Rows of the embedding table for the token ids, [batch*time, dim].</summary>
    public string Embed(string table, string ids) =>
        graph.Node("Gather", [table, Reshape(ids, graph.Int64s(-1))], null, Attr.Int("axis", 0));

    /// <summary>x [rows, in] times weight [out, in] transposed, plus <paramref name="bias"/> [out] when given (Gemm's C): the weight keeps its training layout.</summary>
    public string Linear(string x, string weight, string? bias = null)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.OfWeight(weight));
        return graph.Node("Gemm", bias is null ? [x, weight] : [x, weight, bias], null, Attr.Int("transB", 1));
    }

    /// <summary>
    /// RoPE, "rotate half": x * cos + concat(-x2, x1) * sin, where (x1, x2) are the two halves of the head
    /// dimension. cos/sin are [time, headDim] rows for the positions of this call; x is [batch, heads, time, headDim].
    /// concat(-x2, x1) is x times a signed permutation matrix: one MatMul instead of Slice/Slice/Neg/Concat, and
    /// exact (every product is by 0 or +-1).
    /// </summary>
    public string Rope(string x, string cos, string sin, int headDim)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Rope);
        var rotated = graph.Node("MatMul", [x, RotateHalfMatrix(headDim)]);
        return graph.Node("Add", [graph.Node("Mul", [x, cos]), graph.Node("Mul", [rotated, sin])]);
    }

    private string? rotateHalf;

    private string RotateHalfMatrix(int headDim)
    {
        if (rotateHalf is not null) return rotateHalf;
        int half = headDim / 2;
        var matrix = new float[headDim * headDim];
        for (int i = 0; i < half; i++)
        {
            matrix[(i + half) * headDim + i] = -1f;   // output i (first half) = -x[i + half]
            matrix[i * headDim + i + half] = 1f;      // output i + half = x[i]
        }
        return rotateHalf = graph.Initializer("rope.rotate_half", matrix, headDim, headDim);
    }

    /// <summary>SiLU(gate) * up, the SwiGLU hidden activation.</summary>
    public string SwiGlu(string gate, string up)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.SwiGlu);
        return graph.Node("Mul", [graph.Node("Mul", [gate, graph.Node("Sigmoid", [gate])]), up]);
    }

    /// <summary>
    /// The positions of this call's tokens, their rows of the cos/sin tables ([batch, 1, time, headDim]) and the attention
    /// bias [batch, 1, 1, time, past+time], from the key-padding mask [batch, past+time] (1 = a real token, 0 = padding;
    /// a [1, 1] mask of 1, the graph's default, is broadcast to every key of every row). A token's position is the number
    /// of real tokens before it (cumsum(mask) - 1, as Hugging Face's generate computes it), so rows of a batch may hold
    /// sequences of different lengths, padded anywhere. A key is hidden from a query when it is padding or when its column
    /// is after the query's (causal). Hidden keys get float.MinValue rather than -inf: a padding query whose keys are all
    /// hidden then gets a finite uniform softmax instead of NaN, which its present key/value would carry into later runs.
    /// </summary>
    public (string Cos, string Sin, string Bias) Positions(string inputIds, string pastKey, string attentionMask, string cosTable, string sinTable)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Positions);
        var pastLength = graph.Node("Shape", [pastKey], null, Attr.Int("start", 2), Attr.Int("end", 3));
        var batch = graph.Node("Shape", [inputIds], null, Attr.Int("start", 0), Attr.Int("end", 1));
        var newLength = graph.Node("Shape", [inputIds], null, Attr.Int("start", 1), Attr.Int("end", 2));
        var totalLength = graph.Node("Add", [pastLength, newLength]);
        var mask = graph.Node("Expand", [attentionMask, graph.Node("Concat", [batch, totalLength], null, Attr.Int("axis", 0))]);

        var one = graph.Int64Scalar(1);
        var everyPosition = graph.Node("Sub", [graph.Node("CumSum", [mask, one]), one]);
        var queryPositions = graph.Node("Slice", [everyPosition, pastLength, graph.Int64s(long.MaxValue), graph.Int64s(1)]);
        // Leading padding counts -1 real tokens before it; any valid row will do for it.
        queryPositions = graph.Node("Max", [queryPositions, graph.Int64Scalar(0)]);
        var cos = Unsqueeze(graph.Node("Gather", [cosTable, queryPositions], null, Attr.Int("axis", 0)), 1);
        var sin = Unsqueeze(graph.Node("Gather", [sinTable, queryPositions], null, Attr.Int("axis", 0)), 1);

        var total = Squeeze(totalLength, 0);
        var queryColumns = graph.Node("Range", [Squeeze(pastLength, 0), total, one]);
        var keyColumns = graph.Node("Range", [graph.Int64Scalar(0), total, one]);
        var future = graph.Node("Greater", [Unsqueeze(keyColumns, 0), Unsqueeze(queryColumns, 1)]);
        var padding = Unsqueeze(graph.Node("Equal", [mask, graph.Int64Scalar(0)]), 1);
        var hidden = graph.Node("Or", [future, padding]);
        var bias = graph.Node("Where", [hidden, graph.FloatScalar(float.MinValue), graph.FloatScalar(0f)]);
        return (cos, sin, Unsqueeze(bias, 1, 2));
    }

    /// <summary>[batch, time, heads, headDim] from <paramref name="idsShape"/> = [batch, time].</summary>
    public string HeadsShape(string idsShape, int heads, int headDim)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Attention);
        return graph.Node("Concat", [idsShape, graph.Int64s(heads, headDim)], null, Attr.Int("axis", 0));
    }

    /// <summary>
    /// [batch*time, heads*headDim] -> [batch, heads, time, headDim] (<paramref name="headsShape"/> from <see cref="HeadsShape"/>),
    /// with the per-head RMSNorm (QK-norm) first when <paramref name="normWeight"/> is given.
    /// </summary>
    public string SplitHeads(string projected, string headsShape, string? normWeight)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Attention);
        var x = Reshape(projected, headsShape);
        if (normWeight is not null) x = RmsNorm(x, normWeight);
        return Transpose(x, 0, 2, 1, 3);
    }

    /// <summary>The cache of earlier positions [batch, kvHeads, past, headDim] extended by this call's [.., time, ..].</summary>
    public string AppendToCache(string past, string current, string present)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Attention);
        return graph.Node("Concat", [past, current], present, Attr.Int("axis", 2));
    }

    /// <summary>
    /// Grouped-query attention without copying the cache per query head: queries [batch, heads, time, headDim] are viewed
    /// as [batch, kvHeads, groups, time, headDim] and broadcast against keys [batch, kvHeads, 1, ...]. Query head h uses
    /// key/value head h / groups, which is what repeat_interleave does in training. Returns [batch*time, heads*headDim].
    /// </summary>
    public string GroupedAttention(string q, string keys, string values, string bias, int heads, int kvHeads, int headDim)
    {
        using var scope = graph.Scope(DecoderNames.Scopes.Attention);
        var grouped = Reshape(q, graph.Int64s(0, kvHeads, heads / kvHeads, -1, headDim));
        var keysT = Unsqueeze(Transpose(keys, 0, 1, 3, 2), 2);
        var scores = graph.Node("MatMul", [grouped, keysT]);
        scores = graph.Node("Mul", [scores, graph.FloatScalar((float)(1.0 / Math.Sqrt(headDim)))]);
        var probabilities = graph.Node("Softmax", [graph.Node("Add", [scores, bias])], null, Attr.Int("axis", -1));
        var context = graph.Node("MatMul", [probabilities, Unsqueeze(values, 2)]);
        var perHead = Reshape(context, graph.Int64s(0, heads, -1, headDim));
        return Reshape(Transpose(perHead, 0, 2, 1, 3), graph.Int64s(-1, heads * headDim));
    }

    public string Reshape(string x, string shape) => graph.Node("Reshape", [x, shape]);

    public string Transpose(string x, params long[] perm) => graph.Node("Transpose", [x], null, Attr.Ints("perm", perm));

    public string Unsqueeze(string x, params long[] axes) => graph.Node("Unsqueeze", [x, graph.Int64s(axes)]);

    public string Squeeze(string x, params long[] axes) => graph.Node("Squeeze", [x, graph.Int64s(axes)]);
}
