using Afm.Training.Model;
using static TorchSharp.torch;

namespace Afm.Training.Precision;

/// <summary>
/// bf16 mixed precision for a model that trains (Precision="bf16-mixed", specs/afmproj.md): the forward and backward run on a
/// bfloat16 copy of the float32 master weights, whose gradients are copied back to the masters, where clipping and the
/// optimizer work in float32. TorchSharp 0.107 has no autocast, so this is the manual scheme; RMSNorm normalizes in float32
/// whatever its input, and callers take the loss on float32 logits (<see cref="Forward"/>).
/// One step: <see cref="LoadMasterWeights"/>, forward/backward on <see cref="Model"/>, <see cref="StoreGradients"/>, optimizer step on the masters.
/// </summary>
public sealed class Bf16Compute : IDisposable
{
    private readonly AfmDecoder compute;
    private readonly List<TorchSharp.Modules.Parameter> masters, copies;

    public Bf16Compute(AfmDecoder master)
    {
        compute = AfmDecoder.CopyAs(master, ScalarType.BFloat16);
        masters = master.parameters().ToList();
        copies = compute.parameters().ToList();
        // The masters need gradient tensors to copy into; one backward of a zero-weighted sum allocates them (as zeros)
        // without a forward pass.
        using var scope = NewDisposeScope();
        masters.Select(p => p.sum().mul(0)).Aggregate((a, b) => a.add(b)).backward();
    }

    /// <summary>The bfloat16 copy the passes run on.</summary>
    public AfmDecoder Model => compute;

    /// <summary>Float32 logits of the bf16 copy: losses (softmax over the vocabulary) are computed in float32.</summary>
    public Tensor Forward(Tensor inputIds) => compute.forward(inputIds).to_type(ScalarType.Float32);

    /// <summary>Rounds the masters into the copy and clears its gradients: before every step's forward.</summary>
    public void LoadMasterWeights(double ropeBase)
    {
        compute.RopeBase = ropeBase;
        using var noGrad = no_grad();
        for (int i = 0; i < masters.Count; i++)
        {
            copies[i].copy_(masters[i]);
            copies[i].grad?.zero_();
        }
    }

    /// <summary>Widens the copy's gradients into the masters' (after backward, before clipping and the optimizer step).</summary>
    public void StoreGradients()
    {
        using var noGrad = no_grad();
        for (int i = 0; i < masters.Count; i++)
            if (copies[i].grad is { } grad) masters[i].grad!.copy_(grad);
            else masters[i].grad!.zero_();
    }

    public void Dispose() => compute.Dispose();
}
