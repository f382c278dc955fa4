using TorchSharp;
using static TorchSharp.torch;

namespace Afm.Training.Model;

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then h + mlp(norm(h)).</summary>
public sealed class DecoderBlock : nn.Module<Tensor, Tensor>
{
    private readonly RmsNorm attn_norm;
    private readonly GroupedQueryAttention attn;
    private readonly RmsNorm mlp_norm;
    private readonly SwiGluMlp mlp;

    public DecoderBlock(string name, Afm.Core.Spec.ArchitectureSpec architecture, RotaryEmbedding rotary) : base(name)
    {
        attn_norm = new RmsNorm("attn_norm", architecture.ModelDim, architecture.NormEpsilon);
        attn = new GroupedQueryAttention("attn", architecture.ModelDim, architecture.Heads, architecture.KvHeads,
            architecture.QkNorm, architecture.NormEpsilon, rotary);
        mlp_norm = new RmsNorm("mlp_norm", architecture.ModelDim, architecture.NormEpsilon);
        mlp = new SwiGluMlp("mlp", architecture.ModelDim, architecture.FfnDim);
        RegisterComponents();
    }

    public GroupedQueryAttention Attention => attn;
    public SwiGluMlp Mlp => mlp;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x + attn.forward(attn_norm.forward(x));
        return (h + mlp.forward(mlp_norm.forward(h))).MoveToOuterDisposeScope();
    }
}
