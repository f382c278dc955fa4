using Afm.Core.IO;
using Afm.Interchange.HuggingFace;
using Afm.Interchange.Tests;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

/// <summary>
/// Width-4 checkpoints in Hugging Face names and layouts, imported and run through the decoder; the expected logits are
/// computed here, in double precision, by the forward pass of transformers' modeling files (RMSNorm with the
/// config's eps, q/k/v projections (with Qwen2's biases), per-head q/k RMSNorm (Qwen3, OpenELM), rotate-half RoPE, causal
/// GQA softmax attention where key head j serves query heads j x group ..., SwiGLU, final norm, tied or untied head).
/// OpenELM's fused qkv_proj and proj_1 are split by the importer; here they are used fused, as modeling_openelm.py does.
/// </summary>
public sealed class HfImportLogitsSpecs
{
    private static readonly long[] Tokens = [3, 1, 4];

    [Fact]
    public void An_untied_GQA_Llama_gives_the_logits_of_its_reference_forward_pass()
    {
        var s = new HfFixture.LlamaShape(Hidden: 4, Layers: 1, Heads: 2, KvHeads: 1, Intermediate: 6, Vocab: 5, HeadDim: 2, Tied: false);
        var folder = HfFixture.NewFolder("logits-llama");
        HfFixture.WriteJson(folder, "config.json", HfFixture.LlamaConfig("LlamaForCausalLM", "llama", s));
        var tensors = HfFixture.LlamaTensors(s, new Random(11)).ToDictionary(t => t.Name, t => t.Values);
        HfFixture.WriteWeights(folder, tensors.Select(t => new HfFixture.Tensor(t.Key, Shape(t.Key, s), t.Value)).ToList(), "F32", 1);
        var reference = new Reference(4, 2, 1, 2, 6, 5, 1e-6, 10000, QkNorm: false);
        var expected = reference.Forward(Tokens, Llama(tensors, "model.layers.0."), tensors["model.embed_tokens.weight"], tensors["model.norm.weight"], tensors["lm_head.weight"]);
        AssertLogits(folder, expected);
    }

    [Fact]
    public void A_tied_Qwen3_with_qk_norm_gives_the_logits_of_its_reference_forward_pass()
    {
        var s = new HfFixture.LlamaShape(Hidden: 4, Layers: 1, Heads: 2, KvHeads: 2, Intermediate: 4, Vocab: 5, HeadDim: 2, Tied: true);
        var folder = HfFixture.NewFolder("logits-qwen3");
        HfFixture.WriteJson(folder, "config.json", HfFixture.LlamaConfig("Qwen3ForCausalLM", "qwen3", s, explicitHeadDim: true));
        var list = HfFixture.LlamaTensors(s, new Random(12), qkNorm: true);
        HfFixture.WriteWeights(folder, list, "BF16", 1);
        // The checkpoint holds bf16: the reference computes with the values as stored.
        var tensors = list.ToDictionary(t => t.Name, t => t.Values.Select(v => HfFixture.FromBFloat16(HfFixture.ToBFloat16(v))).ToArray());
        var layer = Llama(tensors, "model.layers.0.") with { QNorm = tensors["model.layers.0.self_attn.q_norm.weight"], KNorm = tensors["model.layers.0.self_attn.k_norm.weight"] };
        var reference = new Reference(4, 2, 2, 2, 4, 5, 1e-6, 10000, QkNorm: true);
        var expected = reference.Forward(Tokens, layer, tensors["model.embed_tokens.weight"], tensors["model.norm.weight"], tensors["model.embed_tokens.weight"]);
        AssertLogits(folder, expected);
    }

    [Fact]
    public void OpenELM_s_fused_qkv_and_proj_1_give_the_logits_of_its_reference_forward_pass()
    {
        // One layer, model_dim 4, head_dim 2, 2 query heads sharing 1 kv head (num_gqa_groups 2), FFN width 4.
        var folder = HfFixture.NewFolder("logits-openelm");
        var config = OpenElmFixture.Config(tied: false);
        config["model_dim"] = 4; config["num_transformer_layers"] = 1; config["head_dim"] = 2; config["vocab_size"] = 5;
        config["qkv_multipliers"] = 1.0; config["num_query_heads"] = new[] { 2 }; config["num_kv_heads"] = new[] { 1 };
        config["ffn_multipliers"] = new[] { 1.0 }; config["ffn_dim_divisor"] = 4; config["rope_freq_constant"] = 500;
        HfFixture.WriteJson(folder, "config.json", config);
        var rng = new Random(13);
        float[] R(int n) => HfFixture.Random(rng, n, 0.5);
        float[] Norm(int n) => R(n).Select(x => 1 + x / 4).ToArray();
        var t = new Dictionary<string, float[]>
        {
            ["transformer.token_embeddings.weight"] = R(20),
            ["transformer.layers.0.attn.qkv_proj.weight"] = R(8 * 4),
            ["transformer.layers.0.attn.q_norm.weight"] = Norm(2),
            ["transformer.layers.0.attn.k_norm.weight"] = Norm(2),
            ["transformer.layers.0.attn.out_proj.weight"] = R(16),
            ["transformer.layers.0.ffn.proj_1.weight"] = R(8 * 4),
            ["transformer.layers.0.ffn.proj_2.weight"] = R(16),
            ["transformer.layers.0.attn_norm.weight"] = Norm(4),
            ["transformer.layers.0.ffn_norm.weight"] = Norm(4),
            ["transformer.norm.weight"] = Norm(4),
            ["lm_head.weight"] = R(20),
        };
        long[] ShapeOf(string name) => name switch
        {
            "transformer.token_embeddings.weight" or "lm_head.weight" => [5, 4],
            _ when name.EndsWith("qkv_proj.weight", StringComparison.Ordinal) || name.EndsWith("proj_1.weight", StringComparison.Ordinal) => [8, 4],
            _ when name.EndsWith("out_proj.weight", StringComparison.Ordinal) || name.EndsWith("proj_2.weight", StringComparison.Ordinal) => [4, 4],
            _ => [t[name].Length],
        };
        HfFixture.WriteWeights(folder, t.Select(e => new HfFixture.Tensor(e.Key, ShapeOf(e.Key), e.Value)).ToList(), "F32", 1);
        // modeling_openelm.py: qkv = qkv_proj(x) viewed as [q_heads + k_heads + v_heads, head_dim]; y_1, y_2 = proj_1(x).chunk(2).
        var qkv = t["transformer.layers.0.attn.qkv_proj.weight"];
        var proj1 = t["transformer.layers.0.ffn.proj_1.weight"];
        var layer = new Layer(t["transformer.layers.0.attn_norm.weight"], qkv[..16], qkv[16..24], qkv[24..], null, null, null,
            t["transformer.layers.0.attn.out_proj.weight"], t["transformer.layers.0.ffn_norm.weight"], proj1[..16], proj1[16..], t["transformer.layers.0.ffn.proj_2.weight"])
        { QNorm = t["transformer.layers.0.attn.q_norm.weight"], KNorm = t["transformer.layers.0.attn.k_norm.weight"] };
        var reference = new Reference(4, 2, 1, 2, 4, 5, 1e-6, 500, QkNorm: true);
        var expected = reference.Forward(Tokens, layer, t["transformer.token_embeddings.weight"], t["transformer.norm.weight"], t["lm_head.weight"]);
        AssertLogits(folder, expected);
    }

    private static long[] Shape(string name, HfFixture.LlamaShape s) =>
        HfFixture.LlamaTensors(s, new Random(0)).Single(t => t.Name == name).Shape;

    private static Layer Llama(IReadOnlyDictionary<string, float[]> t, string p) => new(
        t[p + "input_layernorm.weight"], t[p + "self_attn.q_proj.weight"], t[p + "self_attn.k_proj.weight"], t[p + "self_attn.v_proj.weight"],
        t.GetValueOrDefault(p + "self_attn.q_proj.bias"), t.GetValueOrDefault(p + "self_attn.k_proj.bias"), t.GetValueOrDefault(p + "self_attn.v_proj.bias"),
        t[p + "self_attn.o_proj.weight"], t[p + "post_attention_layernorm.weight"], t[p + "mlp.gate_proj.weight"], t[p + "mlp.up_proj.weight"], t[p + "mlp.down_proj.weight"]);

    /// <summary>Imports the folder, loads the decoder from the converted weights and compares every logit.</summary>
    private static void AssertLogits(string folder, double[][] expected)
    {
        var weights = Path.Combine(folder, "decoder.safetensors");
        using var checkpoint = HfCheckpoint.Open(folder);
        var architecture = checkpoint.Config.Architecture;
        checkpoint.WriteDecoderWeights(weights, DecoderWeightsMetadata.For(architecture, architecture.RopeBase));
        using var model = Trainer.LoadModel(architecture, weights);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(tensor(Tokens).reshape(1, Tokens.Length)).data<float>().ToArray();
        for (int p = 0; p < Tokens.Length; p++)
            for (int v = 0; v < expected[p].Length; v++)
                Assert.True(Math.Abs(expected[p][v] - logits[p * expected[p].Length + v]) < 2e-5,
                    $"position {p}, token {v}: expected {expected[p][v]:R}, the imported model gives {logits[p * expected[p].Length + v]:R}");
    }

    /// <summary>One decoder layer's weights in transformers' [out, in] layout; biases and q/k norms optional.</summary>
    private sealed record Layer(float[] AttnNorm, float[] Wq, float[] Wk, float[] Wv, float[]? Bq, float[]? Bk, float[]? Bv,
        float[] Wo, float[] MlpNorm, float[] Gate, float[] Up, float[] Down)
    {
        public float[]? QNorm { get; init; }
        public float[]? KNorm { get; init; }
    }

    /// <summary>The forward pass of modeling_llama.py (and its Qwen/OpenELM variants), one layer, in doubles.</summary>
    private sealed record Reference(int Dim, int Heads, int KvHeads, int HeadDim, int Ffn, int Vocab, double Eps, double RopeBase, bool QkNorm)
    {
        public double[][] Forward(long[] tokens, Layer l, float[] embed, float[] finalNorm, float[] head)
        {
            var xs = tokens.Select(t => Enumerable.Range(0, Dim).Select(i => (double)embed[t * Dim + i]).ToArray()).ToArray();
            var qs = new double[tokens.Length][][];
            var ks = new double[tokens.Length][][];
            var vs = new double[tokens.Length][][];
            for (int p = 0; p < tokens.Length; p++)
            {
                var h = RmsNorm(xs[p], l.AttnNorm);
                qs[p] = Heads2(MatVec(l.Wq, h, Heads * HeadDim, l.Bq), Heads).Select(u => Rope(QkNorm ? RmsNorm(u, l.QNorm!) : u, p)).ToArray();
                ks[p] = Heads2(MatVec(l.Wk, h, KvHeads * HeadDim, l.Bk), KvHeads).Select(u => Rope(QkNorm ? RmsNorm(u, l.KNorm!) : u, p)).ToArray();
                vs[p] = Heads2(MatVec(l.Wv, h, KvHeads * HeadDim, l.Bv), KvHeads);
            }
            var logits = new double[tokens.Length][];
            for (int p = 0; p < tokens.Length; p++)
            {
                var attended = new double[Heads * HeadDim];
                for (int hq = 0; hq < Heads; hq++)
                {
                    int kv = hq / (Heads / KvHeads);
                    var scores = Enumerable.Range(0, p + 1).Select(t => Dot(qs[p][hq], ks[t][kv]) / Math.Sqrt(HeadDim)).ToArray();
                    double max = scores.Max();
                    var e = scores.Select(x => Math.Exp(x - max)).ToArray();
                    double sum = e.Sum();
                    for (int t = 0; t <= p; t++)
                        for (int j = 0; j < HeadDim; j++) attended[hq * HeadDim + j] += e[t] / sum * vs[t][kv][j];
                }
                var x1 = Add(xs[p], MatVec(l.Wo, attended, Dim));
                var m = RmsNorm(x1, l.MlpNorm);
                var g = MatVec(l.Gate, m, Ffn);
                var u = MatVec(l.Up, m, Ffn);
                var a = g.Select((gi, i) => gi / (1 + Math.Exp(-gi)) * u[i]).ToArray();
                var x2 = Add(x1, MatVec(l.Down, a, Dim));
                logits[p] = MatVec(head, RmsNorm(x2, finalNorm), Vocab);
            }
            return logits;
        }

        private double[] RmsNorm(double[] x, float[] w)
        {
            double rms = Math.Sqrt(x.Sum(v => v * v) / x.Length + Eps);
            return x.Select((v, i) => v / rms * w[i]).ToArray();
        }

        /// <summary>Rotate-half RoPE: pairs (j, j + d/2) turn by position / base^(2j/d).</summary>
        private double[] Rope(double[] u, int position)
        {
            int half = HeadDim / 2;
            var r = new double[HeadDim];
            for (int j = 0; j < half; j++)
            {
                double angle = position / Math.Pow(RopeBase, 2.0 * j / HeadDim);
                r[j] = u[j] * Math.Cos(angle) - u[j + half] * Math.Sin(angle);
                r[j + half] = u[j + half] * Math.Cos(angle) + u[j] * Math.Sin(angle);
            }
            return r;
        }

        private double[][] Heads2(double[] flat, int count) =>
            Enumerable.Range(0, count).Select(h => flat[(h * HeadDim)..((h + 1) * HeadDim)]).ToArray();

        private static double[] MatVec(float[] w, double[] x, int rows, float[]? bias = null) =>
            Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, x.Length).Sum(c => w[r * x.Length + c] * x[c]) + (bias?[r] ?? 0)).ToArray();

        private static double Dot(double[] a, double[] b) => a.Select((v, i) => v * b[i]).Sum();

        private static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();
    }
}
