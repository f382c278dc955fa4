using Afm.Onnx.Graph;

namespace Afm.Onnx.Export;

/// <summary>The decoder's building blocks written as standard ONNX ops (opset <see cref="DecoderExporter.Opset"/>).</summary>
internal sealed class DecoderOps(OnnxGraphBuilder graph, float normEpsilon)
{
    /// <summary>
    /// x / sqrt(mean(x^2, last axis) + eps) * weight, as Afm.Training's RmsNorm. Written as exactly
    /// Pow(2) -> ReduceMean -> Add -> Sqrt -> Div -> Mul so ONNX Runtime's optimizer fuses the six nodes into one
    /// SimplifiedLayerNormalization kernel: in a small model per-node overhead, not arithmetic, sets decode speed.
    /// </summary>
    public string RmsNorm(string x, string weight)
    {
        var squared = graph.Node("Pow", [x, graph.FloatScalar(2f)]);
        var mean = graph.Node("ReduceMean", [squared], null, Attr.Ints("axes", -1), Attr.Int("keepdims", 1));
        var rms = graph.Node("Sqrt", [graph.Node("Add", [mean, graph.FloatScalar(normEpsilon)])]);
        return graph.Node("Mul", [graph.Node("Div", [x, rms]), weight]);
    }

    /// <summary>x [rows, in] times weight [out, in] transposed: the weight keeps its training layout.</summary>
    public string Linear(string x, string weight) =>
        graph.Node("Gemm", [x, weight], null, Attr.Int("transB", 1));

    /// <summary>
    /// RoPE, "rotate half": x * cos + concat(-x2, x1) * sin, where (x1, x2) are the two halves of the head
    /// dimension. cos/sin are [time, headDim] rows for the positions of this call; x is [batch, heads, time, headDim].
    /// concat(-x2, x1) is x times a signed permutation matrix: one MatMul instead of Slice/Slice/Neg/Concat, and
    /// exact (every product is by 0 or +-1).
    /// </summary>
    public string Rope(string x, string cos, string sin, int headDim)
    {
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
    public string SwiGlu(string gate, string up) =>
        graph.Node("Mul", [graph.Node("Mul", [gate, graph.Node("Sigmoid", [gate])]), up]);

    public string Reshape(string x, string shape) => graph.Node("Reshape", [x, shape]);

    public string Transpose(string x, params long[] perm) => graph.Node("Transpose", [x], null, Attr.Ints("perm", perm));

    public string Unsqueeze(string x, params long[] axes) => graph.Node("Unsqueeze", [x, graph.Int64s(axes)]);

    public string Squeeze(string x, params long[] axes) => graph.Node("Squeeze", [x, graph.Int64s(axes)]);
}
