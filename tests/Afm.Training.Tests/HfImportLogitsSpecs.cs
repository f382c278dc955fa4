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

    [Fact]
    public void Qwen2_s_biases_are_added_to_q_k_and_v_as_in_its_reference_forward_pass()
    {
        var s = new HfFixture.LlamaShape(Hidden: 4, Layers: 1, Heads: 2, KvHeads: 1, Intermediate: 4, Vocab: 5, HeadDim: 2, Tied: true);
        var folder = HfFixture.NewFolder("logits-qwen2");
        HfFixture.WriteJson(folder, "config.json", HfFixture.LlamaConfig("Qwen2ForCausalLM", "qwen2", s));
        var list = HfFixture.LlamaTensors(s, new Random(14), qkvBias: true);
        HfFixture.WriteWeights(folder, list, "F32", 1);
        var t = list.ToDictionary(x => x.Name, x => x.Values);
        var reference = new Reference(4, 2, 1, 2, 4, 5, 1e-6, 10000, QkNorm: false);
        AssertLogits(folder, reference.Forward(Tokens, Llama(t, "model.layers.0."), t["model.embed_tokens.weight"], t["model.norm.weight"], t["model.embed_tokens.weight"]));
    }

    [Fact]
    public void Qwen3_with_a_head_dim_wider_than_hidden_over_heads_gives_the_logits_of_its_reference_forward_pass()
    {
        // hidden 4, 2 heads of 4: q is 8 wide and o_proj maps 8 back to 4.
        var s = new HfFixture.LlamaShape(Hidden: 4, Layers: 1, Heads: 2, KvHeads: 1, Intermediate: 4, Vocab: 5, HeadDim: 4, Tied: false);
        var folder = HfFixture.NewFolder("logits-qwen3-headdim");
        HfFixture.WriteJson(folder, "config.json", HfFixture.LlamaConfig("Qwen3ForCausalLM", "qwen3", s, explicitHeadDim: true));
        var list = HfFixture.LlamaTensors(s, new Random(15), qkNorm: true);
        HfFixture.WriteWeights(folder, list, "F16", 1);
        var t = list.ToDictionary(x => x.Name, x => x.Values.Select(v => (float)(Half)v).ToArray());
        var layer = Llama(t, "model.layers.0.") with { QNorm = t["model.layers.0.self_attn.q_norm.weight"], KNorm = t["model.layers.0.self_attn.k_norm.weight"] };
        var reference = new Reference(4, 2, 1, 4, 4, 5, 1e-6, 10000, QkNorm: true);
        AssertLogits(folder, reference.Forward(Tokens, layer, t["model.embed_tokens.weight"], t["model.norm.weight"], t["lm_head.weight"]));
    }

    [Fact]
    public void OpenELM_with_per_layer_heads_and_ffn_widths_gives_the_logits_of_its_reference_forward_pass()
    {
        // model_dim 4, head_dim 2, num_gqa_groups 1: qkv_multipliers 0.5..1.0 give 1 then 2 heads; ffn_multipliers 1..2 give 4 then 8.
        var folder = HfFixture.NewFolder("logits-openelm-layers");
        var config = OpenElmFixture.Config(tied: true);
        config["model_dim"] = 4; config["num_transformer_layers"] = 2; config["head_dim"] = 2; config["vocab_size"] = 5; config["num_gqa_groups"] = 1;
        config["qkv_multipliers"] = new[] { 0.5, 1.0 }; config["num_query_heads"] = new[] { 1, 2 }; config["num_kv_heads"] = new[] { 1, 2 };
        config["ffn_multipliers"] = new[] { 1.0, 2.0 }; config["ffn_dim_divisor"] = 4; config["normalize_qk_projections"] = false;
        HfFixture.WriteJson(folder, "config.json", config);
        var rng = new Random(16);
        float[] R(int n) => HfFixture.Random(rng, n, 0.5);
        float[] Norm(int n) => R(n).Select(x => 1 + x / 4).ToArray();
        var tensors = new List<HfFixture.Tensor> { new("transformer.token_embeddings.weight", [5, 4], R(20)) };
        var layers = new List<Layer>();
        foreach (var (i, heads, ffn) in new[] { (0, 1, 4), (1, 2, 8) })
        {
            var p = $"transformer.layers.{i}.";
            var qkv = R(3 * heads * 2 * 4);
            var proj1 = R(2 * ffn * 4);
            var (outProj, proj2, attnNorm, ffnNorm) = (R(4 * heads * 2), R(4 * ffn), Norm(4), Norm(4));
            tensors.AddRange([
                new(p + "attn.qkv_proj.weight", [3 * heads * 2, 4], qkv), new(p + "attn.out_proj.weight", [4, heads * 2], outProj),
                new(p + "ffn.proj_1.weight", [2 * ffn, 4], proj1), new(p + "ffn.proj_2.weight", [4, ffn], proj2),
                new(p + "attn_norm.weight", [4], attnNorm), new(p + "ffn_norm.weight", [4], ffnNorm)]);
            int q = heads * 2 * 4;
            layers.Add(new Layer(attnNorm, qkv[..q], qkv[q..(2 * q)], qkv[(2 * q)..], null, null, null, outProj, ffnNorm, proj1[..(ffn * 4)], proj1[(ffn * 4)..], proj2)
                { Shape = (heads, heads, ffn) });
        }
        var final = Norm(4);
        tensors.Add(new("transformer.norm.weight", [4], final));
        HfFixture.WriteWeights(folder, tensors, "F32", 1);
        var reference = new Reference(4, 2, 2, 2, 8, 5, 1e-6, 10000, QkNorm: false);
        AssertLogits(folder, reference.Forward(Tokens, layers, tensors[0].Values, final, tensors[0].Values));
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
        /// <summary>This layer's query heads, key/value heads and FFN width (OpenELM's differ by layer); null: the model's.</summary>
        public (int Heads, int KvHeads, int Ffn)? Shape { get; init; }
    }

    /// <summary>The forward pass of modeling_llama.py (and its Qwen/OpenELM variants), one layer, in doubles.</summary>
    private sealed record Reference(int Dim, int Heads, int KvHeads, int HeadDim, int Ffn, int Vocab, double Eps, double RopeBase, bool QkNorm)
    {
        public double[][] Forward(long[] tokens, Layer l, float[] embed, float[] finalNorm, float[] head) =>
            Forward(tokens, [l], embed, finalNorm, head);

        public double[][] Forward(long[] tokens, IReadOnlyList<Layer> layers, float[] embed, float[] finalNorm, float[] head)
        {
            var xs = tokens.Select(t => Enumerable.Range(0, Dim).Select(i => (double)embed[t * Dim + i]).ToArray()).ToArray();
            foreach (var l in layers) xs = Block(xs, l);
            return xs.Select(x => MatVec(head, RmsNorm(x, finalNorm), Vocab)).ToArray();
        }

        private double[][] Block(double[][] xs, Layer l)
        {
            var (Heads, KvHeads, Ffn) = l.Shape ?? (this.Heads, this.KvHeads, this.Ffn);
            var tokens = xs;
            var qs = new double[tokens.Length][][];
            var ks = new double[tokens.Length][][];
            var vs = new double[tokens.Length][][];
            for (int p = 0; p < tokens.Length; p++)
            {
                var h = RmsNorm(xs[p], l.AttnNorm);
                qs[p] = Split(MatVec(l.Wq, h, Heads * HeadDim, l.Bq), Heads).Select(u => Rope(QkNorm ? RmsNorm(u, l.QNorm!) : u, p)).ToArray();
                ks[p] = Split(MatVec(l.Wk, h, KvHeads * HeadDim, l.Bk), KvHeads).Select(u => Rope(QkNorm ? RmsNorm(u, l.KNorm!) : u, p)).ToArray();
                vs[p] = Split(MatVec(l.Wv, h, KvHeads * HeadDim, l.Bv), KvHeads);
            }
            var output = new double[tokens.Length][];
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
                output[p] = Add(x1, MatVec(l.Down, a, Dim));
            }
            return output;
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

        private double[][] Split(double[] flat, int count) =>
            Enumerable.Range(0, count).Select(h => flat[(h * HeadDim)..((h + 1) * HeadDim)]).ToArray();

        private static double[] MatVec(float[] w, double[] x, int rows, float[]? bias = null) =>
            Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, x.Length).Sum(c => w[r * x.Length + c] * x[c]) + (bias?[r] ?? 0)).ToArray();

        private static double Dot(double[] a, double[] b) => a.Select((v, i) => v * b[i]).Sum();

        private static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();
    }
}
