using Afm.Core.Spec;
using Afm.Onnx.Export;
using Afm.Profiling.Formats;
using Afm.Profiling.Model;

namespace Afm.Profiling.Measurement;

/// <summary>
/// The exporter's model.onnx for an architecture, with seeded random weights: what `afm run` executes, for timing and
/// for counting the kernels ONNX Runtime makes of each op. Weight values do not change which kernels run or how long
/// they take; names and shapes are Afm.Training's (src/Afm.Training/README.md). A <see cref="GraphForm"/> with resident
/// weights stores every projection uniform with integer zero points in blocks along the row (the quantize stage's
/// RuntimeForm="nbits" layout, random indices) and the embedding int8 per channel, so the exporter writes the same
/// MatMulNBits / GatherBlockQuantized nodes it writes for such a plan.
/// </summary>
public static class ExportedDecoder
{
    public static byte[] Export(ArchitectureSpec arch, int seed = 1) => Export(arch, GraphForm.Float, seed);

    public static byte[] Export(ArchitectureSpec arch, GraphForm form, int seed = 1)
    {
        var random = new Random(seed);
        var weights = new Dictionary<string, ExportWeight>(StringComparer.Ordinal);
        void Add(string name, params long[] shape)
        {
            if (form.Resident && shape.Length == 2 && name != "embed.weight" && WeightFormat.NBitsBlock(shape[1]) is int block)
            {
                weights[name] = Uniform(random, shape, form.NBits, block);
                return;
            }
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 0.04 - 0.02);
            weights[name] = new FloatWeight(values, shape);
        }
        long d = arch.ModelDim, hd = arch.HeadDim;
        if (form.Resident) weights["embed.weight"] = Int8(random, arch.VocabSize, d);
        else Add("embed.weight", arch.VocabSize, d);
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
        return DecoderExporter.Export(new DecoderModel(arch, arch.RopeBase, weights) { Ops = form.Ops, NBitsActivations = form.Activations }, "profiling");
    }

    /// <summary>
    /// Random indices; every block's scale a power of two and its offset <c>-zp x scale</c> with zp = 2^(bits-1), exact in
    /// fp16, which is the layout MatMulNBits runs (Afm.Onnx's NBitsLinear).
    /// </summary>
    private static UniformWeight Uniform(Random random, long[] shape, int bits, int block)
    {
        long count = shape[0] * shape[1], blocks = count / block;
        var packed = new byte[count * bits / 8];
        random.NextBytes(packed);
        var scale = Enumerable.Repeat((Half)(1.0 / 512), (int)blocks).ToArray();
        var offset = Enumerable.Repeat((Half)(-(1 << (bits - 1)) / 512.0), (int)blocks).ToArray();
        return new UniformWeight(shape, bits, block, packed, scale, offset);
    }

    private static Int8ChannelWeight Int8(Random random, long rows, long columns)
    {
        var values = new sbyte[rows * columns];
        random.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return new Int8ChannelWeight([rows, columns], values, Enumerable.Repeat((Half)(1.0 / 4096), (int)rows).ToArray());
    }
}
