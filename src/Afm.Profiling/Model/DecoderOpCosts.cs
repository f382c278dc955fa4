using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Measurement;

namespace Afm.Profiling.Model;

/// <summary>
/// The operations of the generalized decoder as exported (Afm.Onnx's DecoderGraph) for one workload, with FLOPs and activation
/// bytes counted by the formulas of specs/profiling.md, "What an operation costs", and the kernels ONNX Runtime makes of
/// each once it has optimized the export (<see cref="KernelCensus"/>). An op's bytes are what every one of its kernels
/// reads and writes, intermediates included: a rope of [n, hd] moves the rotated copy and both products through
/// memory, not only x in and y out.
/// </summary>
public static class DecoderOpCosts
{
    /// <param name="tokens">Tokens this call processes: the prompt for prefill, 1 for a decode step.</param>
    /// <param name="keys">Keys each token attends to: the prompt for prefill, the context length (cache + the new token) for decode.</param>
    /// <param name="activationBytes">Bytes of one activation element in the device's compute type.</param>
    /// <param name="kernels">Kernels per op; by default counted on the architecture's export (<see cref="KernelCensus.For"/>).</param>
    /// <param name="form">The graph the project exports (null: standard operators, float weights): fused operators change
    /// the ops (<see cref="FusedOps"/>), resident weights add each op's kernels at every MatMulNBits width.</param>
    public static IReadOnlyList<Op> For(ArchitectureSpec arch, long tokens, long keys, int activationBytes, KernelCensus? kernels = null,
        GraphForm? form = null)
    {
        form ??= GraphForm.Float;
        var floatForm = form with { NBits = 0 };
        kernels ??= KernelCensus.For(arch, floatForm);
        var ops = form.Ops == OnnxOps.Fused ? FusedOps(arch, tokens, keys, activationBytes) : StandardOps(arch, tokens, keys, activationBytes);
        var counted = ops.Select(op => WithKernels(op, kernels.Of(op.Name), tokens, activationBytes)).ToList();
        if (!form.Resident) return counted;
        var resident = WeightFormat.Resident.ToDictionary(f => f.Bits, f => KernelCensus.For(arch, form.WithNBits(f.Bits)));
        return counted.Select(op => op.HasWeight ? op with { NBitsKernels = resident.ToDictionary(r => r.Key, r => r.Value.Of(op.Name)) } : op).ToList();
    }

    private static List<Op> StandardOps(ArchitectureSpec arch, long tokens, long keys, int activationBytes)
    {
        long n = tokens, t = keys, a = activationBytes, d = arch.ModelDim, v = arch.VocabSize, hd = arch.HeadDim;
        var ops = new List<Op>
        {
            new("embed", OpKind.Embedding, "embed", "embed", v, d, n, 0, n * d * a, 0, 0),
            // cos and sin rows gathered (read and written), the causal mask compared (bool) and selected. The key-padding
            // mask's int64 work (expand, cumsum, compare) is per key, not per element of an activation: left out.
            new("positions", OpKind.Positions, null, "embed", 0, 0, 0, 0, (4 * n * hd + n * t) * a + n * t, 0, 0),
        };
        for (int i = 0; i < arch.Layers; i++)
        {
            string p = $"layers.{i}";
            // Each layer its own shape (layer-wise scaling); q is heads x hd wide, which is d unless the head width is given.
            var shape = arch.Layer(i);
            long heads = shape.Heads, q = heads * hd, kvd = shape.KvHeads * hd, f = shape.FfnDim;
            var layerOps = new List<Op>
            {
                Norm($"{p}.attn_norm", p, n, d, a),
                Linear($"{p}.attn.q_proj", p, n, q, d, a, arch.AttentionBias),
                Linear($"{p}.attn.k_proj", p, n, kvd, d, a, arch.AttentionBias),
                Linear($"{p}.attn.v_proj", p, n, kvd, d, a, arch.AttentionBias),
            };
            if (arch.QkNorm)
                layerOps.Add(new($"{p}.attn.qk_norm", OpKind.QkNorm, null, p, 0, 0, 0, 4 * n * (q + kvd), 2 * n * (q + kvd) * a, 2 * hd * 4, 0));
            // Per q and k (x elements): the product by the [hd, hd] rotation (2x), two products by cos/sin (2x each, plus
            // their rows) and the sum (3x); 2 hd FLOPs per element for the rotation, 3 for the rest.
            layerOps.Add(new($"{p}.attn.rope", OpKind.Rope, null, p, 0, 0, 0, (2 * hd + 3) * n * (q + kvd), (9 * n * (q + kvd) + 4 * n * hd) * a, 2 * hd * hd * 4, 0));
            // Scores and weighted values: 4*hd FLOPs per (head, token, key) pair, softmax 5. Bytes: q, k, v transposed into
            // heads, the cache extended (read and written), the keys transposed, q and keys read by the scaled product,
            // the scores through product, mask, softmax and second product (6 passes), values read, the output written
            // and transposed back.
            layerOps.Add(new($"{p}.attn.attention", OpKind.Attention, null, p, 0, 0, 0, heads * n * t * (4 * hd + 5),
                (6 * n * q + 4 * n * kvd + 8 * t * kvd + 6 * heads * n * t + n * t) * a, 0, 0));
            layerOps.Add(Linear($"{p}.attn.o_proj", p, n, d, q, a));
            layerOps.Add(Residual($"{p}.attn_residual", p, n, d, a));
            layerOps.Add(Norm($"{p}.mlp_norm", p, n, d, a));
            layerOps.Add(Linear($"{p}.mlp.gate_proj", p, n, f, d, a));
            layerOps.Add(Linear($"{p}.mlp.up_proj", p, n, f, d, a));
            // SiLU (one fused kernel, 2 passes) and the product with up (3 passes).
            layerOps.Add(new($"{p}.mlp.swiglu", OpKind.SwiGlu, null, p, 0, 0, 0, 6 * n * f, 5 * n * f * a, 0, 0));
            layerOps.Add(Linear($"{p}.mlp.down_proj", p, n, d, f, a));
            layerOps.Add(Residual($"{p}.mlp_residual", p, n, d, a));
            int block = i;
            ops.AddRange(layerOps.Select(op => op with { Block = block }));
        }
        ops.Add(Norm("norm", "head", n, d, a));
        AddHead(ops, arch, n, a);
        return ops;
    }

    private static void AddHead(List<Op> ops, ArchitectureSpec arch, long n, long a)
    {
        var head = Linear("lm_head", "head", n, arch.VocabSize, arch.ModelDim, a);
        ops.Add(arch.TieEmbeddings ? head with { Layer = "embed" } : head);
    }

    /// <summary>
    /// The ops of the fused graph (<see cref="OnnxOps.Fused"/>, Afm.Onnx's FusedDecoderOps): each residual addition runs
    /// inside the next norm (SkipSimplifiedLayerNormalization reads x and the skip, writes the sum and the normalized
    /// value), so there are no residual ops; attention is one GroupQueryAttention over the cache buffer, written in place
    /// (the new keys and values written, the cache read once, the scores through product, softmax and second product),
    /// which also rotates q and k when the head width lets it (then there is no rope op); positions only derive the
    /// lengths from the mask (and gather cos/sin rows when the graph rotates itself).
    /// </summary>
    private static List<Op> FusedOps(ArchitectureSpec arch, long tokens, long keys, int activationBytes)
    {
        long n = tokens, t = keys, a = activationBytes, d = arch.ModelDim, hd = arch.HeadDim;
        bool rotaryInside = Afm.Onnx.Export.FusedDecoderOps.RotaryInside(arch.HeadDim);
        var ops = new List<Op>
        {
            new("embed", OpKind.Embedding, "embed", "embed", arch.VocabSize, d, n, 0, n * d * a, 0, 0),
            new("positions", OpKind.Positions, null, "embed", 0, 0, 0, 0, t * 8 + (rotaryInside ? 0 : 4 * n * hd * a), 0, 0),
        };
        for (int i = 0; i < arch.Layers; i++)
        {
            string p = $"layers.{i}";
            var shape = arch.Layer(i);
            long heads = shape.Heads, q = heads * hd, kvd = shape.KvHeads * hd, f = shape.FfnDim;
            var layerOps = new List<Op>
            {
                i == 0 ? Norm($"{p}.attn_norm", p, n, d, a) : SkipNorm($"{p}.attn_norm", p, n, d, a),
                Linear($"{p}.attn.q_proj", p, n, q, d, a, arch.AttentionBias),
                Linear($"{p}.attn.k_proj", p, n, kvd, d, a, arch.AttentionBias),
                Linear($"{p}.attn.v_proj", p, n, kvd, d, a, arch.AttentionBias),
            };
            if (arch.QkNorm)
                layerOps.Add(new($"{p}.attn.qk_norm", OpKind.QkNorm, null, p, 0, 0, 0, 4 * n * (q + kvd), 2 * n * (q + kvd) * a, 2 * hd * 4, 0));
            if (!rotaryInside)
                layerOps.Add(new($"{p}.attn.rope", OpKind.Rope, null, p, 0, 0, 0, (2 * hd + 3) * n * (q + kvd), (9 * n * (q + kvd) + 4 * n * hd) * a, 2 * hd * hd * 4, 0));
            // Inside rotation: x cos + rotate(x) sin per element of q and k (3 FLOPs), reading the cos/sin rows.
            long rotary = rotaryInside ? 3 * n * (q + kvd) : 0;
            layerOps.Add(new($"{p}.attn.attention", OpKind.Attention, null, p, 0, 0, 0, heads * n * t * (4 * hd + 5) + rotary,
                (n * (2 * q + 2 * kvd) + 2 * n * kvd + 2 * t * kvd + 4 * heads * n * t + (rotaryInside ? n * hd : 0)) * a, 0, 0));
            layerOps.Add(Linear($"{p}.attn.o_proj", p, n, d, q, a));
            layerOps.Add(SkipNorm($"{p}.mlp_norm", p, n, d, a));
            layerOps.Add(Linear($"{p}.mlp.gate_proj", p, n, f, d, a));
            layerOps.Add(Linear($"{p}.mlp.up_proj", p, n, f, d, a));
            layerOps.Add(new($"{p}.mlp.swiglu", OpKind.SwiGlu, null, p, 0, 0, 0, 6 * n * f, 5 * n * f * a, 0, 0));
            layerOps.Add(Linear($"{p}.mlp.down_proj", p, n, d, f, a));
            int block = i;
            ops.AddRange(layerOps.Select(op => op with { Block = block }));
        }
        ops.Add(arch.Layers == 0 ? Norm("norm", "head", n, d, a) : SkipNorm("norm", "head", n, d, a));
        AddHead(ops, arch, n, a);
        return ops;
    }

    /// <summary>
    /// The op with the kernels the export runs for it. A projection of more than one kernel (not the head, whose extra
    /// kernels only shape the logits) is an adaptable one: its LoRA term of rank 0 still runs, and its second Gemm
    /// copies the base output [n, out] (read and written).
    /// </summary>
    private static Op WithKernels(Op op, int kernels, long n, long a) =>
        op.Kind == OpKind.Linear && kernels > 1 && op.Name != "lm_head"
            ? op with { Kernels = kernels, ActivationBytes = op.ActivationBytes + 2 * n * op.WeightRows * a }
            : op with { Kernels = kernels };

    /// <summary>Tokens and keys of a workload.</summary>
    public static (long Tokens, long Keys) Workload(Phase phase, int promptTokens, int contextTokens) =>
        phase == Phase.Prefill ? (promptTokens, promptTokens) : (1, contextTokens);

    /// <param name="bias">A float32 bias [rows] added to every output (Gemm's C): read once, one addition per output element.</param>
    private static Op Linear(string name, string group, long n, long rows, long columns, long a, bool bias = false) =>
        new(name, OpKind.Linear, name, group, rows, columns, rows, 2 * n * rows * columns + (bias ? n * rows : 0), n * (rows + columns) * a,
            bias ? rows * 4 : 0, 0);

    /// <summary>One fused kernel (SimplifiedLayerNormalization): x read, y written.</summary>
    private static Op Norm(string name, string group, long n, long d, long a) =>
        new(name, OpKind.RmsNorm, null, group, 0, 0, 0, 4 * n * d, 2 * n * d * a, d * 4, 0);

    /// <summary>One fused kernel (SkipSimplifiedLayerNormalization): x and the skip read, their sum and its norm written.</summary>
    private static Op SkipNorm(string name, string group, long n, long d, long a) =>
        new(name, OpKind.RmsNorm, null, group, 0, 0, 0, 5 * n * d, 4 * n * d * a, d * 4, 0);

    private static Op Residual(string name, string group, long n, long d, long a) =>
        new(name, OpKind.Residual, null, group, 0, 0, 0, n * d, 3 * n * d * a, 0, 0);
}
