using TorchSharp;
using static TorchSharp.torch;

namespace Afm.Training.Model;

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then h + mlp(norm(h)), with its layer's own shape (<see cref="Afm.Core.Spec.ArchitectureSpec.Layer"/>).</summary>
public sealed class DecoderBlock : nn.Module<Tensor, Tensor>
{
    private readonly RmsNorm attn_norm;
    private readonly GroupedQueryAttention attn;
    private readonly RmsNorm mlp_norm;
    private readonly SwiGluMlp mlp;

    public DecoderBlock(int index, Afm.Core.Spec.ArchitectureSpec architecture, RotaryEmbedding rotary)
        : base(index.ToString(System.Globalization.CultureInfo.InvariantCulture))
    {
        var shape = architecture.Layer(index);
        attn_norm = new RmsNorm("attn_norm", architecture.ModelDim, architecture.NormEpsilon);
        attn = new GroupedQueryAttention("attn", architecture.ModelDim, shape.Heads, shape.KvHeads,
            architecture.QkNorm, architecture.NormEpsilon, rotary, architecture.HeadDim, architecture.AttentionBias);
        mlp_norm = new RmsNorm("mlp_norm", architecture.ModelDim, architecture.NormEpsilon);
        mlp = new SwiGluMlp("mlp", architecture.ModelDim, shape.FfnDim);
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
