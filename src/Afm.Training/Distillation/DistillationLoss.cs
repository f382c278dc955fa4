using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Distillation;

/// <summary>
/// The AFM distillation target: each position's target distribution is the convex mix
/// <c>(1 - w) x one-hot(true next token) + w x one-hot(teacher's top-1)</c>. Cross-entropy against a mix of one-hots
/// is the same mix of the two cross-entropies, so the loss is
/// <c>(1 - w) x CE(true) + w x CE(teacher)</c>, computed from one log-softmax and two gathers.
/// </summary>
public static class DistillationLoss
{
    /// <param name="logits">[batch, time, vocab] student logits.</param>
    /// <param name="targets">[batch, time] true next tokens; <see cref="MaskedLoss.IgnoreIndex"/> where no loss is taken (sft prompts).</param>
    /// <param name="teacherTop1">[batch, time] the teacher's most likely next token at each position.</param>
    /// <param name="weight">Weight of the teacher's top-1, in [0, 1].</param>
    /// <returns>The mean over counted positions (0 with a zero gradient when none is), and how many were counted.</returns>
    public static (Tensor Loss, long Counted) Loss(Tensor logits, Tensor targets, Tensor teacherTop1, double weight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(weight, 1.0);
        var logProbabilities = nn.functional.log_softmax(logits.reshape(-1, logits.shape[^1]), -1);
        var flat = targets.reshape(-1);
        var ignored = flat.eq(MaskedLoss.IgnoreIndex);
        // The teacher's target is ignored wherever the true target is: an sft prompt is context, not a target.
        var teacher = teacherTop1.reshape(-1).masked_fill(ignored, MaskedLoss.IgnoreIndex);
        long counted = flat.numel() - ignored.sum().item<long>();
        var keep = ignored.logical_not().to_type(logProbabilities.dtype);
        // -log p of each target, zero where ignored (TorchSharp's nll_loss has no ignore_index, so gather and mask).
        Tensor NegativeLogLikelihoodSum(Tensor ids) =>
            -(logProbabilities.gather(1, ids.masked_fill(ignored, 0).unsqueeze(1)).squeeze(1) * keep).sum();
        var trueSum = NegativeLogLikelihoodSum(flat);
        var teacherSum = NegativeLogLikelihoodSum(teacher);
        return (((1 - weight) * trueSum + weight * teacherSum) / Math.Max(1, counted), counted);
    }
}
