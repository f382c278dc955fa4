using Afm.Onnx.Graph;

namespace Afm.Onnx.Export;

/// <summary>The decoder's building blocks written as standard ONNX ops (opset <see cref="DecoderExporter.Opset"/>).</summary>
internal sealed class DecoderOps(OnnxGraphBuilder graph, float normEpsilon)
{
    /// <summary>x / sqrt(mean(x^2, last axis) + eps) * weight, as Afm.Training's RmsNorm.</summary>
    public string RmsNorm(string x, string weight)
    {
        var squared = graph.Node("Mul", [x, x]);
        var mean = graph.Node("ReduceMean", [squared], null, Attr.Ints("axes", -1), Attr.Int("keepdims", 1));
        var rms = graph.Node("Sqrt", [graph.Node("Add", [mean, graph.FloatScalar(normEpsilon)])]);
        var normalized = graph.Node("Mul", [x, graph.Node("Reciprocal", [rms])]);
        return graph.Node("Mul", [normalized, weight]);
    }

    /// <summary>x [rows, in] times weight [out, in] transposed: the weight keeps its training layout.</summary>
    public string Linear(string x, string weight) =>
        graph.Node("Gemm", [x, weight], null, Attr.Int("transB", 1));

    /// <summary>
    /// RoPE, "rotate half": x * cos + concat(-x2, x1) * sin, where (x1, x2) are the two halves of the head
    /// dimension. cos/sin are [time, headDim] rows for the positions of this call; x is [batch, heads, time, headDim].
    /// </summary>
    public string Rope(string x, string cos, string sin, int headDim)
    {
        long half = headDim / 2;
        var axes = graph.Int64s(-1);
        var first = graph.Node("Slice", [x, graph.Int64s(0), graph.Int64s(half), axes]);
        var second = graph.Node("Slice", [x, graph.Int64s(half), graph.Int64s(headDim), axes]);
        var rotated = graph.Node("Concat", [graph.Node("Neg", [second]), first], null, Attr.Int("axis", -1));
        return graph.Node("Add", [graph.Node("Mul", [x, cos]), graph.Node("Mul", [rotated, sin])]);
    }

    /// <summary>SiLU(gate) * up, the SwiGLU hidden activation.</summary>
    public string SwiGlu(string gate, string up) =>
        graph.Node("Mul", [graph.Node("Mul", [gate, graph.Node("Sigmoid", [gate])]), up]);

    public string Reshape(string x, string shape) => graph.Node("Reshape", [x, shape]);

    public string Transpose(string x, params long[] perm) => graph.Node("Transpose", [x], null, Attr.Ints("perm", perm));

    public string Unsqueeze(string x, params long[] axes) => graph.Node("Unsqueeze", [x, graph.Int64s(axes)]);

    public string Squeeze(string x, params long[] axes) => graph.Node("Squeeze", [x, graph.Int64s(axes)]);
}
