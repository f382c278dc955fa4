using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.Model;

/// <summary>
/// Root-mean-square layer norm: x / sqrt(mean(x^2) + eps) * weight, over the last dimension.
/// Written here because TorchSharp 0.107 has no nn.RMSNorm.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(string name, long dim, double eps) : base(name)
    {
        this.eps = eps;
        weight = nn.Parameter(ones(dim));
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // Normalise in float32 even if activations are lower precision: the mean of squares is what overflows.
        var xf = x.to_type(ScalarType.Float32);
        var inverseRms = xf.pow(2).mean([-1L], keepdim: true).add(eps).rsqrt();
        return (xf * inverseRms).to_type(x.dtype).mul(weight).MoveToOuterDisposeScope();
    }
}
