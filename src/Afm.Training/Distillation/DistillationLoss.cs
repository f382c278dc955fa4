using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Distillation;

/// <summary>
/// The distillation target: each position's target distribution is the convex mix
/// <c>(1 - w) x one-hot(true next token) + w x t</c>, where <c>t</c> is the teacher's part: one-hot(teacher's top-1)
/// (the AFM report's recipe, <see cref="Loss"/>) or the teacher's whole distribution softmax(teacher logits / T)
/// (<see cref="SoftLoss"/>). Cross-entropy is linear in the target, so the loss is
/// <c>(1 - w) x CE(true) + w x CE(t)</c>, computed from one log-softmax of the student's (untempered) logits.
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
        var p = Prepare(logits, targets, weight);
        // The teacher's target is ignored wherever the true target is: an sft prompt is context, not a target.
        var teacherSum = p.NegativeLogLikelihoodSum(teacherTop1.reshape(-1));
        return p.Mix(teacherSum);
    }

    /// <summary>
    /// The teacher's part is its full next-token distribution at <paramref name="temperature"/>:
    /// <c>CE(t) = -sum_v t_v log q_v</c> with <c>t = softmax(teacher logits / T)</c> and <c>q</c> the student's softmax
    /// (equal to KL(t || q) plus the teacher's entropy, which has no gradient). The student is not tempered: the mixed
    /// target is what its real predictions are pulled towards, and validation measures those.
    /// </summary>
    /// <param name="teacherLogits">[batch, time, vocab] the teacher's logits on the same inputs.</param>
    public static (Tensor Loss, long Counted) SoftLoss(Tensor logits, Tensor targets, Tensor teacherLogits, double weight, double temperature)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(temperature, 0.0);
        if (!teacherLogits.shape.SequenceEqual(logits.shape))
            throw new ArgumentException($"Teacher logits [{string.Join(", ", teacherLogits.shape)}] do not match the student's [{string.Join(", ", logits.shape)}].");
        var p = Prepare(logits, targets, weight);
        var teacher = nn.functional.softmax(teacherLogits.reshape(-1, teacherLogits.shape[^1]).to_type(p.LogProbabilities.dtype) / temperature, -1);
        var teacherSum = -((teacher * p.LogProbabilities).sum(-1) * p.Keep).sum();
        return p.Mix(teacherSum);
    }

    private static Prepared Prepare(Tensor logits, Tensor targets, double weight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(weight, 1.0);
        var logProbabilities = nn.functional.log_softmax(logits.reshape(-1, logits.shape[^1]), -1);
        var flat = targets.reshape(-1);
        var ignored = flat.eq(MaskedLoss.IgnoreIndex);
        long counted = flat.numel() - ignored.sum().item<long>();
        return new Prepared(logProbabilities, flat, ignored, ignored.logical_not().to_type(logProbabilities.dtype), counted, weight);
    }

    private sealed record Prepared(Tensor LogProbabilities, Tensor Targets, Tensor Ignored, Tensor Keep, long Counted, double Weight)
    {
        /// <summary>-log p of each id, zero where the true target is ignored (TorchSharp's nll_loss has no ignore_index, so gather and mask).</summary>
        public Tensor NegativeLogLikelihoodSum(Tensor ids) =>
            -(LogProbabilities.gather(1, ids.masked_fill(Ignored, 0).unsqueeze(1)).squeeze(1) * Keep).sum();

        public (Tensor Loss, long Counted) Mix(Tensor teacherSum) =>
            (((1 - Weight) * NegativeLogLikelihoodSum(Targets) + Weight * teacherSum) / Math.Max(1, Counted), Counted);
    }
}
