using Afm.Core.Spec;
using Afm.Onnx.Proto;
using Afm.Profiling.Model;
using ExportOps = Afm.Onnx.Export.DecoderOps;

namespace Afm.Profiling.Measurement;

/// <summary>
/// Each op of <see cref="DecoderOpCosts"/> as its own model, built by the exporter's own building blocks (Afm.Onnx's
/// DecoderOps, the methods DecoderGraph calls), in fp32 (what ONNX Runtime's CPU provider runs), so one op can be timed
/// on its own with ONNX Runtime's profiler and is the op `afm run` executes. Inputs an op receives from other ops (the
/// cache, positions, shapes) are graph inputs with the workload's shapes.
/// </summary>
public static class MicroGraphs
{
    private const TensorProto.Types.DataType Int64 = TensorProto.Types.DataType.Int64;
    private const TensorProto.Types.DataType Float = TensorProto.Types.DataType.Float;

    /// <summary>The attention op with <paramref name="computedShapes"/> of the heads' shapes (queries' first) computed from the ids' shape, the others given.</summary>
    private static MicroGraph Attention(Op op, ArchitectureSpec arch, long n, long t, int seed, int computedShapes)
    {
        var w = new MicroGraphWriter(seed);
        var ops = new ExportOps(w.Graph, (float)arch.NormEpsilon);
        var shape = ShapeOf(op, arch);
        int hd = arch.HeadDim, heads = shape.Heads, kvHeads = shape.KvHeads;
        var idsShape = computedShapes > 0 ? w.Int64Input("ids_shape", [1, n], 2) : "";
        var qShape = computedShapes > 0 ? ops.HeadsShape(idsShape, heads, hd) : w.Int64Input("q_shape", [1, n, heads, hd], 4);
        var kvShape = heads == kvHeads ? qShape
            : computedShapes > 1 ? ops.HeadsShape(idsShape, kvHeads, hd) : w.Int64Input("kv_shape", [1, n, kvHeads, hd], 4);
        var q = ops.SplitHeads(w.FloatInput("q", n, (long)heads * hd), qShape, null);
        var k = ops.SplitHeads(w.FloatInput("k", n, (long)kvHeads * hd), kvShape, null);
        var v = ops.SplitHeads(w.FloatInput("v", n, (long)kvHeads * hd), kvShape, null);
        var keys = ops.AppendToCache(w.FloatInput("past_key", 1, kvHeads, t - n, hd), k, "present_key");
        var values = ops.AppendToCache(w.FloatInput("past_value", 1, kvHeads, t - n, hd), v, "present_value");
        var output = ops.GroupedAttention(q, keys, values, w.FloatInput("bias", n, t), heads, kvHeads, hd);
        return w.Finish(op.Name, [(output, [n, (long)heads * hd]), (keys, [1, kvHeads, t, hd]), (values, [1, kvHeads, t, hd])]);
    }

    /// <summary>The shape of the block <paramref name="op"/> is part of; the first block's for ops outside the blocks (the positions read layer 0's cache).</summary>
    private static LayerShape ShapeOf(Op op, ArchitectureSpec arch) => arch.Layer(op.Block ?? 0);

    public static MicroGraph For(Op op, ArchitectureSpec arch, long tokens, long keys, int seed = 1)
    {
        var w = new MicroGraphWriter(seed);
        var g = w.Graph;
        var ops = new ExportOps(g, (float)arch.NormEpsilon);
        var layer = ShapeOf(op, arch);
        long n = tokens, t = keys, d = arch.ModelDim, hd = arch.HeadDim, heads = layer.Heads, kvHeads = layer.KvHeads, f = layer.FfnDim;
        string IdsShape() => w.Int64Input("ids_shape", [1, n], 2);
        switch (op.Kind)
        {
            case OpKind.Embedding:
                return w.Finish(op.Name, ops.Embed(w.Weight("table", op.WeightRows, op.WeightColumns), w.IdsInput("ids", op.WeightRows, 1, n)), n, d);
            case OpKind.Positions:
            {
                // Symbolic batch and sequence axes, as the export's inputs: positions are computed from shapes at run time.
                var ids = w.Int64Input("ids", new long[n], [1, n], ["batch", "sequence"]);
                var shape = g.Node("Shape", [ids]);
                var pastKey = w.FloatInput("past_key", [1, kvHeads, t - n, hd], ["batch", kvHeads, "past_sequence", hd]);
                // The export's optional attention_mask with its default ([1, 1] of 1), which every unbatched call runs with.
                var mask = g.OptionalInt64Input(Onnx.Export.DecoderNames.AttentionMask, [1L], [1, 1], "batch", "total_sequence");
                var (cos, sin, bias) = ops.Positions(ids, pastKey, mask, w.Weight("cos", t, hd), w.Weight("sin", t, hd));
                return w.Finish(op.Name, [(cos, [1, 1, n, hd], Float), (sin, [1, 1, n, hd], Float), (bias, [1, 1, 1, n, t], Float), (shape, [2], Int64)]);
            }
            case OpKind.Linear when op.Name == "lm_head":
            {
                // The head also shapes the logits [batch, time, vocab] (DecoderGraph.Build).
                var logits = ops.Linear(w.FloatInput("x", n, d), w.Weight("w", op.WeightRows, op.WeightColumns));
                var shape = g.Node("Concat", [IdsShape(), g.Int64s(op.WeightRows)], null, Onnx.Graph.Attr.Int("axis", 0));
                return w.Finish(op.Name, ops.Reshape(logits, shape), 1, n, op.WeightRows);
            }
            case OpKind.Linear:
            {
                var x = w.FloatInput("x", n, op.WeightColumns);
                // A projection's only fixed-format weight is its bias (q/k/v with AttentionBias), Gemm's C in the export.
                var y = ops.Linear(x, w.Weight("w", op.WeightRows, op.WeightColumns), op.FixedWeightBytes > 0 ? w.Weight("b", op.WeightRows) : null);
                // An adaptable projection of the export also computes its LoRA term over optional inputs (rank 0 with no
                // adapter: two more Gemms), which the census counts as the projection's kernels (DecoderGraph.Projection).
                if (op.Kernels > 1)
                    using (g.Scope(Onnx.Export.DecoderNames.Scopes.OfWeight(op.Name + ".weight")))
                        y = Onnx.Export.LoraProjection.Apply(g, x, y, op.Name + ".weight", op.WeightRows, op.WeightColumns);
                return w.Finish(op.Name, y, n, op.WeightRows);
            }
            case OpKind.RmsNorm:
                return w.Finish(op.Name, ops.RmsNorm(w.FloatInput("x", n, d), w.Weight("scale", d)), n, d);
            case OpKind.QkNorm:
            {
                var q = ops.RmsNorm(w.FloatInput("q", 1, n, heads, hd), w.Weight("q_scale", hd));
                var k = ops.RmsNorm(w.FloatInput("k", 1, n, kvHeads, hd), w.Weight("k_scale", hd));
                return w.Finish(op.Name, [(q, [1, n, heads, hd]), (k, [1, n, kvHeads, hd])]);
            }
            case OpKind.Rope:
            {
                var cos = w.FloatInput("cos", n, hd);
                var sin = w.FloatInput("sin", n, hd);
                var q = ops.Rope(w.FloatInput("q", 1, heads, n, hd), cos, sin, (int)hd);
                var k = ops.Rope(w.FloatInput("k", 1, kvHeads, n, hd), cos, sin, (int)hd);
                return w.Finish(op.Name, [(q, [1, heads, n, hd]), (k, [1, kvHeads, n, hd])]);
            }
            case OpKind.Attention:
            {
                // ORT merges the layers' equal computations of the heads' shapes into one node it leaves in one layer: this
                // op computes as many of them as its kernels beyond the attention's own (counted, not assumed).
                int shapes = 0;
                int own = KernelCensus.KernelsOf(Attention(op, arch, n, t, seed, 0).Model);
                while (own + shapes < op.Kernels && shapes < (heads == kvHeads ? 1 : 2)) shapes++;
                return Attention(op, arch, n, t, seed, shapes);
            }
            case OpKind.Residual:
                return w.Finish(op.Name, g.Node("Add", [w.FloatInput("x", n, d), w.FloatInput("y", n, d)]), n, d);
            case OpKind.SwiGlu:
                return w.Finish(op.Name, ops.SwiGlu(w.FloatInput("gate", n, f), w.FloatInput("up", n, f)), n, f);
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op.Kind, "No micro graph for this op kind.");
        }
    }
}
