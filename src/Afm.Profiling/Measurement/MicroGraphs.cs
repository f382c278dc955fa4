using Afm.Core.Spec;
using Afm.Onnx.Graph;
using Afm.Profiling.Model;

namespace Afm.Profiling.Measurement;

/// <summary>
/// The ONNX realization of each op of <see cref="DecoderOps"/> as its own model, in fp32 (what ONNX Runtime's CPU
/// provider runs), so one op can be timed on its own with ONNX Runtime's profiler.
/// </summary>
public static class MicroGraphs
{
    public static MicroGraph For(Op op, ArchitectureSpec arch, long tokens, long keys, int seed = 1)
    {
        var w = new MicroGraphWriter(seed);
        var g = w.Graph;
        long n = tokens, t = keys, d = arch.ModelDim, hd = arch.HeadDim, heads = arch.Heads, kvHeads = arch.KvHeads, f = arch.FfnDim;
        switch (op.Kind)
        {
            case OpKind.Embedding:
                return w.Finish(op.Name, g.Node("Gather", [w.Weight("table", op.WeightRows, op.WeightColumns), w.IdsInput("ids", n, op.WeightRows)], null, Attr.Int("axis", 0)), n, d);
            case OpKind.Linear:
                return w.Finish(op.Name, g.Node("Gemm", [w.FloatInput("x", n, op.WeightColumns), w.Weight("w", op.WeightRows, op.WeightColumns)], null, Attr.Int("transB", 1)), n, op.WeightRows);
            case OpKind.RmsNorm:
                return w.Finish(op.Name, w.RmsNorm(w.FloatInput("x", n, d), w.Weight("scale", d)), n, d);
            case OpKind.QkNorm:
            {
                var q = w.RmsNorm(w.FloatInput("q", n * heads, hd), w.Weight("q_scale", hd));
                var k = w.RmsNorm(w.FloatInput("k", n * kvHeads, hd), w.Weight("k_scale", hd));
                return w.Finish(op.Name, [(q, [n * heads, hd]), (k, [n * kvHeads, hd])]);
            }
            case OpKind.Rope:
            {
                var cos = w.FloatInput("cos", n, hd);
                var sin = w.FloatInput("sin", n, hd);
                var q = Rope(g, w.FloatInput("q", heads, n, hd), cos, sin, hd);
                var k = Rope(g, w.FloatInput("k", kvHeads, n, hd), cos, sin, hd);
                return w.Finish(op.Name, [(q, [heads, n, hd]), (k, [kvHeads, n, hd])]);
            }
            case OpKind.Attention:
            {
                // Grouped-query attention without copying keys: the query heads sharing a key head become extra rows.
                long group = heads / kvHeads;
                var q = g.Node("Reshape", [w.FloatInput("q", heads, n, hd), g.Int64s(kvHeads, group * n, hd)]);
                var kT = g.Node("Transpose", [w.FloatInput("k", kvHeads, t, hd)], null, Attr.Ints("perm", 0, 2, 1));
                var scores = g.Node("Mul", [g.Node("MatMul", [q, kT]), g.FloatScalar((float)(1 / Math.Sqrt(hd)))]);
                var weights = g.Node("Softmax", [scores], null, Attr.Int("axis", -1));
                var mixed = g.Node("MatMul", [weights, w.FloatInput("v", kvHeads, t, hd)]);
                return w.Finish(op.Name, g.Node("Reshape", [mixed, g.Int64s(heads, n, hd)]), heads, n, hd);
            }
            case OpKind.Residual:
                return w.Finish(op.Name, g.Node("Add", [w.FloatInput("x", n, d), w.FloatInput("y", n, d)]), n, d);
            case OpKind.SwiGlu:
            {
                var gate = w.FloatInput("gate", n, f);
                return w.Finish(op.Name, g.Node("Mul", [g.Node("Mul", [gate, g.Node("Sigmoid", [gate])]), w.FloatInput("up", n, f)]), n, f);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op.Kind, "No micro graph for this op kind.");
        }
    }

    private static string Rope(OnnxGraphBuilder g, string x, string cos, string sin, long headDim)
    {
        long half = headDim / 2;
        var axes = g.Int64s(-1);
        var first = g.Node("Slice", [x, g.Int64s(0), g.Int64s(half), axes]);
        var second = g.Node("Slice", [x, g.Int64s(half), g.Int64s(headDim), axes]);
        var rotated = g.Node("Concat", [g.Node("Neg", [second]), first], null, Attr.Int("axis", -1));
        return g.Node("Add", [g.Node("Mul", [x, cos]), g.Node("Mul", [rotated, sin])]);
    }
}
