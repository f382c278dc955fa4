using Afm.Core.Spec;
using Afm.Onnx.Export;
using Afm.Training.Model;
using TorchSharp;

namespace Afm.Onnx.Tests;

/// <summary>
/// The conventions of the generalized decoder pinned by a case small enough to follow by hand: one layer of width 4,
/// a vocabulary of 5, 4 query heads sharing 2 key/value heads, a head width of 4 (given, not ModelDim / Heads = 1), q/k/v
/// biases, QK-norm and a large RMSNorm epsilon, on the prompt [3, 1, 4]. <see cref="HandLogits"/> computes the logits in
/// float64, one step at a time, with nothing from the toolchain; <see cref="Expected"/> holds the same logits computed
/// independently (numpy, in the structure of Hugging Face's modeling_qwen2/modeling_qwen3: rotate_half, repeat_kv, eager
/// attention), so the step-by-step arithmetic is pinned too. Then the TorchSharp decoder and its exported ONNX graph in
/// ONNX Runtime must give those numbers. Each convention changes the logits by far more than the tolerance: RoPE
/// interleaved instead of rotate-half by 0.48, key/value heads tiled instead of shared by consecutive query heads by
/// 0.92, the epsilon added outside the square root by 0.15, the q bias dropped by 0.14 (measured with the numpy reference).
/// </summary>
public sealed class HandComputedDecoderTests
{
    private const int V = 5, D = 4, H = 4, Kv = 2, Hd = 4, F = 3;
    private const double Epsilon = 0.25, RopeBase = 100;
    private static readonly long[] Prompt = [3, 1, 4];
    private const double Tolerance = 1e-5;

    private static ArchitectureSpec Architecture(bool tied, bool qkNorm) => new()
    {
        ModelDim = D, Layers = 1, Heads = H, KvHeads = Kv, FfnDim = F, VocabSize = V, RopeBase = RopeBase,
        TieEmbeddings = tied, QkNorm = qkNorm, MaxSequenceLength = 8, NormEpsilon = Epsilon,
        ExplicitHeadDim = Hd, AttentionBias = true,
    };

    // The weights: multiples of 1/8 from a formula anyone can evaluate by hand (grid(seed)[r, c] = ((seed + 3r + 5c + 2rc)
    // mod 13 - 6) / 8; vec(seed)[i] = ((seed + 5i) mod 7 - 3) / 8; norm weights are 1 + vec so none is the identity).
    private static double[,] Grid(int rows, int columns, int seed)
    {
        var w = new double[rows, columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) w[r, c] = ((seed + 3 * r + 5 * c + 2 * r * c) % 13 - 6) / 8.0;
        return w;
    }

    private static double[] Vec(int n, int seed, double plus = 0) => Enumerable.Range(0, n).Select(i => plus + ((seed + 5 * i) % 7 - 3) / 8.0).ToArray();

    private static readonly double[,] Embed = Grid(V, D, 1), Wq = Grid(H * Hd, D, 3), Wk = Grid(Kv * Hd, D, 5), Wv = Grid(Kv * Hd, D, 7),
        Wo = Grid(D, H * Hd, 11), Wgate = Grid(F, D, 13), Wup = Grid(F, D, 14), Wdown = Grid(D, F, 15), LmHead = Grid(V, D, 17);
    private static readonly double[] AttnNorm = Vec(D, 2, 1), Bq = Vec(H * Hd, 4), Bk = Vec(Kv * Hd, 6), Bv = Vec(Kv * Hd, 8),
        QNorm = Vec(Hd, 9, 1), KNorm = Vec(Hd, 10, 1), MlpNorm = Vec(D, 12, 1), FinalNorm = Vec(D, 16, 1);

    /// <summary>Logits [position][token] of the prompt, from numpy (see the class comment), for (tied, qkNorm).</summary>
    private static double[][] Expected(bool tied, bool qkNorm) => (tied, qkNorm) switch
    {
        (true, true) =>
        [
            [-1.353286986, 0.223197866, -0.977417621, 0.680643177, -0.320094012],
            [-1.221025001, 1.411091305, -0.765296283, -0.033533606, -0.714593535],
            [0.097080770, -0.512394408, -0.535550073, -0.443219410, 2.055328316],
        ],
        (false, true) =>
        [
            [0.690445035, -0.510170452, 1.066314400, -0.843116534, -0.160047006],
            [0.901162008, -1.275225579, 1.356890727, 0.054200578, -0.357296768],
            [0.414605059, 0.391449394, -0.218025784, -0.294368624, 1.027664158],
        ],
        _ =>
        [
            // Position 0 attends only to itself: its output is its own value whatever q and k are, so it equals the row above.
            [0.690445035, -0.510170452, 1.066314400, -0.843116534, -0.160047006],
            [0.850751536, -1.277892844, 1.355003693, 0.078741968, -0.406932737],
            [0.305295021, 0.387948597, -0.201476979, -0.244301317, 0.953120881],
        ],
    };

    public static TheoryData<bool, bool> Variants => new() { { true, true }, { false, true }, { false, false } };

    [Theory]
    [MemberData(nameof(Variants))]
    public void The_step_by_step_arithmetic_gives_the_independently_computed_logits(bool tied, bool qkNorm)
    {
        var hand = HandLogits(Prompt, tied, qkNorm);
        var expected = Expected(tied, qkNorm);
        for (int t = 0; t < Prompt.Length; t++)
            for (int v = 0; v < V; v++) Assert.Equal(expected[t][v], hand[t][v], 1e-8);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void The_torch_decoder_gives_the_hand_computed_logits(bool tied, bool qkNorm)
    {
        using var model = TorchModel(Architecture(tied, qkNorm));
        var logits = Parity.TorchLogits(model, Prompt, 1);
        AssertHand(HandLogits(Prompt, tied, qkNorm), logits, Prompt.Length);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void The_exported_graph_in_onnx_runtime_gives_the_hand_computed_logits_in_prefill_and_through_the_cache(bool tied, bool qkNorm)
    {
        var architecture = Architecture(tied, qkNorm);
        using var ort = new OrtDecoder(DecoderExporter.Export(new DecoderModel(architecture, RopeBase, ExportWeights(tied)), "test"), architecture);
        var hand = HandLogits(Prompt, tied, qkNorm);

        var (prefill, _) = ort.Run(Prompt, 1, ort.Empty(1));
        AssertHand(hand, prefill, Prompt.Length);

        // Two tokens, then the third through the cache: its logits are the hand-computed last row.
        var (_, cache) = ort.Run(Prompt[..2], 1, ort.Empty(1));
        var (step, _) = ort.Run(Prompt[2..], 1, cache);
        AssertHand([hand[2]], step, 1);
    }

    /// <summary>
    /// The decoder by hand, in float64: every step as Hugging Face's Llama/Qwen2/Qwen3 compute it.
    /// </summary>
    private static double[][] HandLogits(long[] ids, bool tied, bool qkNorm)
    {
        int T = ids.Length;

        // 1. Embedding: row ids[t] of the table.
        var x = new double[T][];
        for (int t = 0; t < T; t++) x[t] = Row(Embed, (int)ids[t]);

        // 2. RMSNorm before attention: h = x / sqrt(mean(x^2) + eps) * weight; eps is inside the square root.
        var h = x.Select(row => Rms(row, AttnNorm)).ToArray();

        // 3. q, k, v: h W^T + b. Query head j is columns j*Hd .. j*Hd+Hd-1 of q (the [T, heads, Hd] view); same for k and v.
        var q = new double[H, T][];
        var k = new double[Kv, T][];
        var v = new double[Kv, T][];
        for (int t = 0; t < T; t++)
        {
            var qt = Add(MatVec(Wq, h[t]), Bq);
            var kt = Add(MatVec(Wk, h[t]), Bk);
            var vt = Add(MatVec(Wv, h[t]), Bv);
            for (int j = 0; j < H; j++) q[j, t] = qt[(j * Hd)..((j + 1) * Hd)];
            for (int j = 0; j < Kv; j++)
            {
                k[j, t] = kt[(j * Hd)..((j + 1) * Hd)];
                v[j, t] = vt[(j * Hd)..((j + 1) * Hd)];
            }
        }

        // 4. QK-norm: each head's q and k (biases included) RMS-normalized over Hd with its own weight, before RoPE.
        if (qkNorm)
        {
            for (int t = 0; t < T; t++)
            {
                for (int j = 0; j < H; j++) q[j, t] = Rms(q[j, t], QNorm);
                for (int j = 0; j < Kv; j++) k[j, t] = Rms(k[j, t], KNorm);
            }
        }

        // 5. RoPE, rotate-half: dimension i of the first half pairs with i + Hd/2 of the second. Angle of pair i at
        //    position t: t * base^(-2i/Hd), so with base 100 and Hd 4: t * 1 and t * 0.1.
        //    (x_i, x_{i+Hd/2}) -> (x_i cos - x_{i+Hd/2} sin, x_{i+Hd/2} cos + x_i sin).
        for (int t = 0; t < T; t++)
        {
            for (int j = 0; j < H; j++) q[j, t] = Rope(q[j, t], t);
            for (int j = 0; j < Kv; j++) k[j, t] = Rope(k[j, t], t);
        }

        // 6. Attention: query head j reads key/value head j / (H / Kv) (heads 0,1 -> 0; 2,3 -> 1), scores q.k / sqrt(Hd),
        //    the causal mask (position t sees 0..t), softmax, the weighted sum of values; heads concatenated in order.
        var attended = new double[T][];
        for (int t = 0; t < T; t++)
        {
            attended[t] = new double[H * Hd];
            for (int j = 0; j < H; j++)
            {
                int kv = j / (H / Kv);
                var scores = new double[t + 1];
                for (int s = 0; s <= t; s++) scores[s] = Dot(q[j, t], k[kv, s]) / Math.Sqrt(Hd);
                double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                for (int s = 0; s <= t; s++)
                {
                    double p = Math.Exp(scores[s] - max) / sum;
                    for (int i = 0; i < Hd; i++) attended[t][j * Hd + i] += p * v[kv, s][i];
                }
            }
        }

        // 7. Output projection (no bias) and the residual.
        for (int t = 0; t < T; t++) x[t] = Add(x[t], MatVec(Wo, attended[t]));

        // 8. SwiGLU after its RMSNorm: down(silu(gate h) * up h), silu(a) = a / (1 + e^-a); the residual.
        for (int t = 0; t < T; t++)
        {
            var hm = Rms(x[t], MlpNorm);
            var gate = MatVec(Wgate, hm);
            var up = MatVec(Wup, hm);
            var hidden = gate.Select((g, i) => g / (1 + Math.Exp(-g)) * up[i]).ToArray();
            x[t] = Add(x[t], MatVec(Wdown, hidden));
        }

        // 9. Final RMSNorm and the head: the embedding table itself when tied, lm_head when not.
        return x.Select(row => MatVec(tied ? Embed : LmHead, Rms(row, FinalNorm))).ToArray();
    }

    private static double[] Row(double[,] m, int r) => Enumerable.Range(0, m.GetLength(1)).Select(c => m[r, c]).ToArray();

    private static double[] MatVec(double[,] w, double[] x) =>
        Enumerable.Range(0, w.GetLength(0)).Select(r => Enumerable.Range(0, x.Length).Sum(c => w[r, c] * x[c])).ToArray();

    private static double[] Add(double[] a, double[] b) => a.Select((value, i) => value + b[i]).ToArray();

    private static double Dot(double[] a, double[] b) => a.Select((value, i) => value * b[i]).Sum();

    private static double[] Rms(double[] x, double[] weight)
    {
        double rms = Math.Sqrt(x.Average(e => e * e) + Epsilon);
        return x.Select((e, i) => e / rms * weight[i]).ToArray();
    }

    private static double[] Rope(double[] x, int position)
    {
        int half = x.Length / 2;
        var y = new double[x.Length];
        for (int i = 0; i < half; i++)
        {
            double angle = position * Math.Pow(RopeBase, -2.0 * i / x.Length), cos = Math.Cos(angle), sin = Math.Sin(angle);
            y[i] = x[i] * cos - x[i + half] * sin;
            y[i + half] = x[i + half] * cos + x[i] * sin;
        }
        return y;
    }

    /// <summary>Every weight by its parameter name (specs/artifact.md); lm_head only when untied.</summary>
    private static Dictionary<string, (long[] Shape, float[] Values)> Weights(bool tied)
    {
        (long[], float[]) M(double[,] m) => ([m.GetLength(0), m.GetLength(1)], m.Cast<double>().Select(e => (float)e).ToArray());
        (long[], float[]) Vv(double[] v) => ([v.Length], v.Select(e => (float)e).ToArray());
        var weights = new Dictionary<string, (long[] Shape, float[] Values)>(StringComparer.Ordinal)
        {
            ["embed.weight"] = M(Embed), ["layers.0.attn_norm.weight"] = Vv(AttnNorm),
            ["layers.0.attn.q_proj.weight"] = M(Wq), ["layers.0.attn.q_proj.bias"] = Vv(Bq),
            ["layers.0.attn.k_proj.weight"] = M(Wk), ["layers.0.attn.k_proj.bias"] = Vv(Bk),
            ["layers.0.attn.v_proj.weight"] = M(Wv), ["layers.0.attn.v_proj.bias"] = Vv(Bv),
            ["layers.0.attn.q_norm.weight"] = Vv(QNorm), ["layers.0.attn.k_norm.weight"] = Vv(KNorm),
            ["layers.0.attn.o_proj.weight"] = M(Wo), ["layers.0.mlp_norm.weight"] = Vv(MlpNorm),
            ["layers.0.mlp.gate_proj.weight"] = M(Wgate), ["layers.0.mlp.up_proj.weight"] = M(Wup), ["layers.0.mlp.down_proj.weight"] = M(Wdown),
            ["norm.weight"] = Vv(FinalNorm),
        };
        if (!tied) weights["lm_head.weight"] = M(LmHead);
        return weights;
    }

    private static SortedDictionary<string, ExportWeight> ExportWeights(bool tied) =>
        new(Weights(tied).ToDictionary(w => w.Key, w => (ExportWeight)new FloatWeight(w.Value.Values, w.Value.Shape)), StringComparer.Ordinal);

    /// <summary>The TorchSharp decoder of the architecture with the hand weights in place (q/k norm weights unused without QK-norm).</summary>
    private static AfmDecoder TorchModel(ArchitectureSpec architecture)
    {
        Afm.Training.TorchRuntime.PrepareProcess();
        var model = new AfmDecoder(architecture);
        var weights = Weights(architecture.TieEmbeddings);
        using (torch.no_grad())
        {
            var names = new List<string>();
            foreach (var (name, parameter) in model.named_parameters())
            {
                var (shape, values) = weights[name];
                Assert.Equal(shape, parameter.shape);
                parameter.copy_(torch.tensor(values, shape));
                names.Add(name);
            }
            bool HasParameter(string name) => architecture.QkNorm || !(name.EndsWith("attn.q_norm.weight", StringComparison.Ordinal) || name.EndsWith("attn.k_norm.weight", StringComparison.Ordinal));
            Assert.Equal(weights.Keys.Where(HasParameter).Order(), names.Order());
        }
        model.eval();
        return model;
    }

    private static void AssertHand(double[][] hand, float[] actual, int positions)
    {
        Assert.Equal(positions * V, actual.Length);
        for (int t = 0; t < positions; t++)
            for (int v = 0; v < V; v++)
                Assert.True(Math.Abs(hand[t][v] - actual[t * V + v]) <= Tolerance,
                    $"position {t}, token {v}: {actual[t * V + v]} against {hand[t][v]} by hand");
    }
}
