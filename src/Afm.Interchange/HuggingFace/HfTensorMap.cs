using System.Globalization;
using Afm.Core.Spec;

namespace Afm.Interchange.HuggingFace;

/// <summary>
/// The one map between a Hugging Face family's tensor names and the decoder's (src/Afm.Training/Model/AfmDecoder.cs),
/// used to import and to export. Each Hugging Face tensor is the concatenation, along its first dimension, of one or
/// more of ours: one for Llama-style names, three for OpenELM's fused <c>qkv_proj</c> (query rows, then key rows, then
/// value rows, head by head, as modeling_openelm.py splits them) and two for its <c>proj_1</c> (gate rows, then up
/// rows: <c>y_1, y_2 = proj_1(x).chunk(2)</c>, <c>act(y_1) * y_2</c>).
/// </summary>
public sealed class HfTensorMap
{
    /// <summary>One of our tensors inside a Hugging Face tensor.</summary>
    public sealed record Part(string Name, long[] Shape)
    {
        public long Elements => Shape.Aggregate(1L, (a, d) => a * d);
    }

    /// <summary>A Hugging Face tensor and the parts of ours it holds, in row order.</summary>
    public sealed record Entry(string HfName, long[] Shape, IReadOnlyList<Part> Parts);

    private HfTensorMap(HfFamily family, IReadOnlyList<Entry> entries, IReadOnlySet<string> ignoredWhenPresent)
    {
        Family = family;
        Entries = entries;
        IgnoredWhenPresent = ignoredWhenPresent;
    }

    public HfFamily Family { get; }
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>
    /// Tensors a checkpoint may hold that are not weights of ours: the output matrix of a tied model, which some
    /// checkpoints save beside the embedding (it is the same matrix).
    /// </summary>
    public IReadOnlySet<string> IgnoredWhenPresent { get; }

    /// <summary>Our tensors, name and shape, in the order the map lists them (what a converted weights file holds).</summary>
    public IEnumerable<Part> OurTensors => Entries.SelectMany(e => e.Parts);

    public static HfTensorMap For(HfFamily family, ArchitectureSpec a)
    {
        var entries = new List<Entry>();
        long d = a.ModelDim, hd = a.HeadDim, v = a.VocabSize;
        string L(int i) => "layers." + i.ToString(CultureInfo.InvariantCulture) + ".";
        void One(string hf, string ours, params long[] shape) => entries.Add(new Entry(hf, shape, [new Part(ours, shape)]));

        if (family == HfFamily.OpenElm)
        {
            One("transformer.token_embeddings.weight", "embed.weight", v, d);
            for (int i = 0; i < a.Layers; i++)
            {
                var s = a.Layer(i);
                string hf = "transformer.layers." + i.ToString(CultureInfo.InvariantCulture) + ".", ours = L(i);
                long q = s.Heads * hd, kv = s.KvHeads * hd;
                entries.Add(new Entry(hf + "attn.qkv_proj.weight", [q + 2 * kv, d],
                    [new Part(ours + "attn.q_proj.weight", [q, d]), new Part(ours + "attn.k_proj.weight", [kv, d]), new Part(ours + "attn.v_proj.weight", [kv, d])]));
                if (a.QkNorm)
                {
                    One(hf + "attn.q_norm.weight", ours + "attn.q_norm.weight", hd);
                    One(hf + "attn.k_norm.weight", ours + "attn.k_norm.weight", hd);
                }
                One(hf + "attn.out_proj.weight", ours + "attn.o_proj.weight", d, q);
                entries.Add(new Entry(hf + "ffn.proj_1.weight", [2L * s.FfnDim, d],
                    [new Part(ours + "mlp.gate_proj.weight", [s.FfnDim, d]), new Part(ours + "mlp.up_proj.weight", [s.FfnDim, d])]));
                One(hf + "ffn.proj_2.weight", ours + "mlp.down_proj.weight", d, s.FfnDim);
                One(hf + "attn_norm.weight", ours + "attn_norm.weight", d);
                One(hf + "ffn_norm.weight", ours + "mlp_norm.weight", d);
            }
            One("transformer.norm.weight", "norm.weight", d);
        }
        else
        {
            One("model.embed_tokens.weight", "embed.weight", v, d);
            for (int i = 0; i < a.Layers; i++)
            {
                var s = a.Layer(i);
                string hf = "model.layers." + i.ToString(CultureInfo.InvariantCulture) + ".", ours = L(i);
                long q = s.Heads * hd, kv = s.KvHeads * hd;
                One(hf + "self_attn.q_proj.weight", ours + "attn.q_proj.weight", q, d);
                One(hf + "self_attn.k_proj.weight", ours + "attn.k_proj.weight", kv, d);
                One(hf + "self_attn.v_proj.weight", ours + "attn.v_proj.weight", kv, d);
                if (a.AttentionBias)
                {
                    One(hf + "self_attn.q_proj.bias", ours + "attn.q_proj.bias", q);
                    One(hf + "self_attn.k_proj.bias", ours + "attn.k_proj.bias", kv);
                    One(hf + "self_attn.v_proj.bias", ours + "attn.v_proj.bias", kv);
                }
                One(hf + "self_attn.o_proj.weight", ours + "attn.o_proj.weight", d, q);
                if (a.QkNorm)
                {
                    One(hf + "self_attn.q_norm.weight", ours + "attn.q_norm.weight", hd);
                    One(hf + "self_attn.k_norm.weight", ours + "attn.k_norm.weight", hd);
                }
                One(hf + "mlp.gate_proj.weight", ours + "mlp.gate_proj.weight", s.FfnDim, d);
                One(hf + "mlp.up_proj.weight", ours + "mlp.up_proj.weight", s.FfnDim, d);
                One(hf + "mlp.down_proj.weight", ours + "mlp.down_proj.weight", d, s.FfnDim);
                One(hf + "input_layernorm.weight", ours + "attn_norm.weight", d);
                One(hf + "post_attention_layernorm.weight", ours + "mlp_norm.weight", d);
            }
            One("model.norm.weight", "norm.weight", d);
        }
        if (!a.TieEmbeddings) One("lm_head.weight", "lm_head.weight", v, d);
        var ignored = a.TieEmbeddings ? new HashSet<string>(StringComparer.Ordinal) { "lm_head.weight" } : new HashSet<string>(StringComparer.Ordinal);
        return new HfTensorMap(family, entries, ignored);
    }

    /// <summary>
    /// The family a model is exported as: the one whose tensors it has (Qwen3 for QK-norm, Qwen2 for q/k/v biases, OpenELM
    /// for per-layer shapes, else Llama). A model with both QK-norm and biases is none of them.
    /// </summary>
    public static HfFamily FamilyOf(ArchitectureSpec a) =>
        !a.IsUniform ? HfFamily.OpenElm
        : a.QkNorm && !a.AttentionBias ? HfFamily.Qwen3
        : a.AttentionBias && !a.QkNorm ? HfFamily.Qwen2
        : !a.QkNorm && !a.AttentionBias ? HfFamily.Llama
        : throw new NotSupportedException(
            $"A model with {(a.QkNorm ? "QK-norm" : "no QK-norm")}, {(a.AttentionBias ? "q/k/v biases" : "no biases")} and head dimension {a.HeadDim} is none of the Hugging Face families.");
}
