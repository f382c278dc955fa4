using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.Model;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)), no biases.</summary>
public sealed class SwiGluMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    public SwiGluMlp(string name, int modelDim, int ffnDim) : base(name)
    {
        gate_proj = nn.Linear(modelDim, ffnDim, hasBias: false);
        up_proj = nn.Linear(modelDim, ffnDim, hasBias: false);
        down_proj = nn.Linear(ffnDim, modelDim, hasBias: false);
        RegisterComponents();
    }

    public Linear OutputProjection => down_proj;

    /// <summary>Sees every input (pruning measures unit importance with it); the block calls this module's forward, which skips torch hooks.</summary>
    internal Action<Tensor>? InputObserver { get; set; }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        InputObserver?.Invoke(x);
        // call(), not forward(): call runs forward hooks, which is how LoRA adapters attach (Adapters/LoraAdapter.cs).
        var hidden = nn.functional.silu(gate_proj.call(x)) * up_proj.call(x);
        return down_proj.call(hidden).MoveToOuterDisposeScope();
    }
}
