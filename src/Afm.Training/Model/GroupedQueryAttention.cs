using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.Model;

/// <summary>
/// Causal grouped-query attention: <c>heads</c> query heads share <c>kvHeads</c> key/value heads
/// (heads / kvHeads queries per group), with optional per-head RMSNorm of queries and keys (QK-norm)
/// before RoPE, as in the AFM report. The head width is ModelDim / heads unless given (Qwen3 and OpenELM state it, and
/// heads x headDim need not equal ModelDim); q, k and v have biases only when asked (Qwen2), o never.
/// </summary>
public sealed class GroupedQueryAttention : nn.Module<Tensor, Tensor>
{
    // Field names are the parameter names (layers.N.attn.q_proj.weight, ...): later stages address weights by them.
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly RmsNorm? q_norm;
    private readonly RmsNorm? k_norm;
    private readonly RotaryEmbedding rotary;
    private readonly int heads;
    private readonly int kvHeads;
    private readonly int headDim;

    /// <param name="headDim">Width of one head; null: <paramref name="modelDim"/> / <paramref name="heads"/>.</param>
    /// <param name="bias">Whether q, k and v have biases (<c>attn.{q,k,v}_proj.bias</c>).</param>
    public GroupedQueryAttention(string name, int modelDim, int heads, int kvHeads, bool qkNorm, double normEpsilon,
        RotaryEmbedding rotary, int? headDim = null, bool bias = false) : base(name)
    {
        if (heads % kvHeads != 0) throw new ArgumentException($"Heads ({heads}) must be a multiple of KvHeads ({kvHeads}).");
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.rotary = rotary;
        this.headDim = headDim ?? modelDim / heads;
        q_proj = nn.Linear(modelDim, heads * this.headDim, hasBias: bias);
        k_proj = nn.Linear(modelDim, kvHeads * this.headDim, hasBias: bias);
        v_proj = nn.Linear(modelDim, kvHeads * this.headDim, hasBias: bias);
        o_proj = nn.Linear(heads * this.headDim, modelDim, hasBias: false);
        if (qkNorm)
        {
            q_norm = new RmsNorm("q_norm", this.headDim, normEpsilon);
            k_norm = new RmsNorm("k_norm", this.headDim, normEpsilon);
        }
        RegisterComponents();
    }

    public Linear OutputProjection => o_proj;

    /// <summary>x: [batch, time, modelDim] -> [batch, time, modelDim].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], time = x.shape[1];
        // call(), not forward(): call runs forward hooks, which is how LoRA adapters attach (Adapters/LoraAdapter.cs).
        var q = q_proj.call(x).view(batch, time, heads, headDim);
        var k = k_proj.call(x).view(batch, time, kvHeads, headDim);
        var v = v_proj.call(x).view(batch, time, kvHeads, headDim);
        if (q_norm is not null && k_norm is not null)
        {
            q = q_norm.forward(q);
            k = k_norm.forward(k);
        }
        q = rotary.Apply(q.transpose(1, 2));
        k = rotary.Apply(k.transpose(1, 2));
        v = v.transpose(1, 2);
        if (kvHeads != heads)
        {
            // sdpa in TorchSharp 0.107 has no enable_gqa: give every query head its group's key/value head.
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        var attended = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        var merged = attended.transpose(1, 2).reshape(batch, time, heads * headDim);
        return o_proj.call(merged).MoveToOuterDisposeScope();
    }
}
