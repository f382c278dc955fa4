using Afm.Core.Spec;
using Afm.Profiling.Formats;

namespace Afm.Profiling.Model;

/// <summary>
/// The operations of the AFM decoder (Afm.Training's layout) for one workload, with FLOPs and activation bytes
/// counted by the formulas of specs/profiling.md, "What an operation costs". The export runs each op as separate
/// ONNX nodes (one launch each), so an op's bytes are what every one of its nodes reads and writes, intermediates
/// included: a norm of [n, d] moves x^2, x*r and the scaled result through memory, not only x in and y out.
/// </summary>
public static class DecoderOps
{
    /// <summary>ONNX nodes per op kind, as the micro graphs of <see cref="Measurement.MicroGraphs"/> (and the exporter) realize them.</summary>
    public static int KernelsOf(OpKind kind) => kind switch
    {
        OpKind.Embedding => 1,
        OpKind.RmsNorm => 7,
        OpKind.Linear => 1,
        OpKind.QkNorm => 14,
        OpKind.Rope => 14,
        OpKind.Attention => 7,
        OpKind.Residual => 1,
        OpKind.SwiGlu => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <param name="tokens">Tokens this call processes: the prompt for prefill, 1 for a decode step.</param>
    /// <param name="keys">Keys each token attends to: the prompt for prefill, the context length (cache + the new token) for decode.</param>
    /// <param name="activationBytes">Bytes of one activation element in the device's compute type.</param>
    public static IReadOnlyList<Op> For(ArchitectureSpec arch, long tokens, long keys, int activationBytes)
    {
        long n = tokens, t = keys, a = activationBytes, d = arch.ModelDim, f = arch.FfnDim, v = arch.VocabSize;
        long hd = arch.HeadDim, kvd = (long)arch.KvHeads * hd;
        var ops = new List<Op>
        {
            new("embed", OpKind.Embedding, "embed", "embed", v, d, n, 0, n * d * a, 0, KernelsOf(OpKind.Embedding)),
        };
        for (int i = 0; i < arch.Layers; i++)
        {
            string p = $"layers.{i}";
            ops.Add(Norm($"{p}.attn_norm", p, n, d, a));
            ops.Add(Linear($"{p}.attn.q_proj", p, n, d, d, a));
            ops.Add(Linear($"{p}.attn.k_proj", p, n, kvd, d, a));
            ops.Add(Linear($"{p}.attn.v_proj", p, n, kvd, d, a));
            if (arch.QkNorm)
                ops.Add(new($"{p}.attn.qk_norm", OpKind.QkNorm, null, p, 0, 0, 0, 4 * n * (d + kvd),
                    (8 * n * (d + kvd) + 8 * n * (arch.Heads + arch.KvHeads)) * a, 2 * hd * 4, KernelsOf(OpKind.QkNorm)));
            // Per q and k: two half slices (x), negate (x), concat (2x), two products (2x each, cos/sin read), add (3x).
            ops.Add(new($"{p}.attn.rope", OpKind.Rope, null, p, 0, 0, 0, 3 * n * (d + kvd), (12 * n * (d + kvd) + 4 * n * hd) * a, 0, KernelsOf(OpKind.Rope)));
            // Scores and weighted values: 4*hd FLOPs per (head, token, key) pair, softmax 5. Bytes: q in, out, cache and
            // new k/v; plus the transposed keys, the scores through product, scaling, softmax and second product
            // (6 passes), and the two reshapes (q in, out): separate kernels write them all to memory.
            ops.Add(new($"{p}.attn.attention", OpKind.Attention, null, p, 0, 0, 0, arch.Heads * n * t * (4 * hd + 5),
                (2 * n * d + 2 * t * kvd + 2 * n * kvd + 2 * t * kvd + 6 * arch.Heads * n * t + 4 * n * d) * a, 0, KernelsOf(OpKind.Attention)));
            ops.Add(Linear($"{p}.attn.o_proj", p, n, d, d, a));
            ops.Add(Residual($"{p}.attn_residual", p, n, d, a));
            ops.Add(Norm($"{p}.mlp_norm", p, n, d, a));
            ops.Add(Linear($"{p}.mlp.gate_proj", p, n, f, d, a));
            ops.Add(Linear($"{p}.mlp.up_proj", p, n, f, d, a));
            ops.Add(new($"{p}.mlp.swiglu", OpKind.SwiGlu, null, p, 0, 0, 0, 6 * n * f, 8 * n * f * a, 0, KernelsOf(OpKind.SwiGlu)));
            ops.Add(Linear($"{p}.mlp.down_proj", p, n, d, f, a));
            ops.Add(Residual($"{p}.mlp_residual", p, n, d, a));
        }
        ops.Add(Norm("norm", "head", n, d, a));
        var head = Linear("lm_head", "head", n, v, d, a);
        ops.Add(arch.TieEmbeddings ? head with { Layer = "embed" } : head);
        return ops;
    }

    /// <summary>Tokens and keys of a workload.</summary>
    public static (long Tokens, long Keys) Workload(Phase phase, int promptTokens, int contextTokens) =>
        phase == Phase.Prefill ? (promptTokens, promptTokens) : (1, contextTokens);

    private static Op Linear(string name, string group, long n, long rows, long columns, long a) =>
        new(name, OpKind.Linear, name, group, rows, columns, rows, 2 * n * rows * columns, n * (rows + columns) * a, 0, KernelsOf(OpKind.Linear));

    private static Op Norm(string name, string group, long n, long d, long a) =>
        new(name, OpKind.RmsNorm, null, group, 0, 0, 0, 4 * n * d, (8 * n * d + 8 * n) * a, d * 4, KernelsOf(OpKind.RmsNorm));

    private static Op Residual(string name, string group, long n, long d, long a) =>
        new(name, OpKind.Residual, null, group, 0, 0, 0, n * d, 3 * n * d * a, 0, KernelsOf(OpKind.Residual));
}
