using Afm.Core.Spec;
using Afm.Onnx.Export;

namespace Afm.Profiling.Measurement;

/// <summary>
/// The exporter's model.onnx for an architecture, with seeded random weights: what `afm run` executes, for timing and
/// for counting the kernels ONNX Runtime makes of each op. Weight values do not change which kernels run or how long
/// they take; names and shapes are Afm.Training's (src/Afm.Training/README.md).
/// </summary>
public static class ExportedDecoder
{
    public static byte[] Export(ArchitectureSpec arch, int seed = 1)
    {
        var random = new Random(seed);
        var weights = new Dictionary<string, ExportWeight>(StringComparer.Ordinal);
        void Add(string name, params long[] shape)
        {
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 0.04 - 0.02);
            weights[name] = new FloatWeight(values, shape);
        }
        long d = arch.ModelDim, hd = arch.HeadDim;
        Add("embed.weight", arch.VocabSize, d);
        for (int layer = 0; layer < arch.Layers; layer++)
        {
            var p = $"layers.{layer}.";
            var shape = arch.Layer(layer);
            long q = shape.Heads * hd, kvd = shape.KvHeads * hd, f = shape.FfnDim;
            Add(p + "attn_norm.weight", d);
            Add(p + "attn.q_proj.weight", q, d);
            Add(p + "attn.k_proj.weight", kvd, d);
            Add(p + "attn.v_proj.weight", kvd, d);
            if (arch.AttentionBias)
            {
                Add(p + "attn.q_proj.bias", q);
                Add(p + "attn.k_proj.bias", kvd);
                Add(p + "attn.v_proj.bias", kvd);
            }
            Add(p + "attn.o_proj.weight", d, q);
            if (arch.QkNorm)
            {
                Add(p + "attn.q_norm.weight", hd);
                Add(p + "attn.k_norm.weight", hd);
            }
            Add(p + "mlp_norm.weight", d);
            Add(p + "mlp.gate_proj.weight", f, d);
            Add(p + "mlp.up_proj.weight", f, d);
            Add(p + "mlp.down_proj.weight", d, f);
        }
        Add("norm.weight", d);
        if (!arch.TieEmbeddings) Add("lm_head.weight", arch.VocabSize, d);
        return DecoderExporter.Export(new DecoderModel(arch, arch.RopeBase, weights), "profiling");
    }
}
