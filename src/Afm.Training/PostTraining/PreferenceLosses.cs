using Afm.Core.Spec;
using static TorchSharp.torch;

namespace Afm.Training.PostTraining;

/// <summary>
/// The losses of the preference stages, as specs/post-training.md writes them. r_c, r_r: rewards of the chosen and
/// rejected responses; Δ = r_c - r_r.
/// </summary>
public static class PreferenceLosses
{
    /// <summary>
    /// Target probability that the chosen response wins, by level (<see cref="PreferenceLevel"/> order): the soft label
    /// grows with how much better annotators said it is. The AFM report (4.3.1) gives the idea, not the numbers; these
    /// are this toolchain's. The loss is least where σ(Δ) equals the target, so Δ settles near logit(p): a
    /// negligible preference is not pushed to as large a margin as a significant one.
    /// </summary>
    public static readonly double[] LevelTargets = [0.99, 0.95, 0.85, 0.65];

    public static double Target(PreferenceLevel level, bool softLabels) => softLabels ? LevelTargets[(int)level] : 1.0;

    /// <summary>
    /// Soft-label Bradley-Terry loss, the mean over pairs of <c>-p log σ(Δ) - (1 - p) log σ(-Δ)</c> (binary cross-entropy of
    /// σ(Δ) against p; p = 1 is plain Bradley-Terry).
    /// </summary>
    public static Tensor Ranking(Tensor chosen, Tensor rejected, Tensor targets) =>
        nn.functional.binary_cross_entropy_with_logits(chosen - rejected, targets);

    /// <summary>
    /// The single-sided grade regularizer: each response that has a grade g in [0, 1] is scored on its own,
    /// <c>-g log σ(r) - (1 - g) log σ(-r)</c>, averaged over graded responses; 0 when no response of the batch has a grade.
    /// It ties the reward's absolute value to the grade, which pairwise comparisons alone leave free.
    /// </summary>
    public static Tensor Grades(Tensor rewards, Tensor grades)
    {
        var graded = grades.isnan().logical_not();
        long count = graded.sum().item<long>();
        if (count == 0) return zeros(1, dtype: rewards.dtype).sum();
        var perResponse = nn.functional.binary_cross_entropy_with_logits(rewards, grades.nan_to_num(0), reduction: nn.Reduction.None);
        return perResponse.masked_fill(graded.logical_not(), 0).sum() / count;
    }

    /// <summary>Sum of log p(target) over the masked targets of each row: logits [n, L, V], targets [n, L], mask [n, L] (0/1 float) -> [n].</summary>
    public static Tensor SequenceLogProbs(Tensor logits, Tensor targets, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var logProbs = nn.functional.log_softmax(logits, -1).gather(2, targets.unsqueeze(2)).squeeze(2);
        return (logProbs * mask).sum(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// h = (log π(y_c) - log π_ref(y_c)) - (log π(y_r) - log π_ref(y_r)), the difference of the policy's log-ratios to the
    /// reference. DPO: mean of <c>-log σ(β h)</c> (Rafailov et al. 2023); IPO: mean of <c>(h - 1/(2β))²</c> (Azar et al. 2023,
    /// β as their τ). The implicit reward margin reported is β h.
    /// </summary>
    public static Tensor Dpo(PreferenceLoss loss, double beta, Tensor logRatioChosen, Tensor logRatioRejected)
    {
        var h = logRatioChosen - logRatioRejected;
        return loss switch
        {
            PreferenceLoss.Dpo => -nn.functional.logsigmoid(h * beta).mean(),
            PreferenceLoss.Ipo => (h - 1.0 / (2 * beta)).square().mean(),
            _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown preference loss."),
        };
    }

    /// <summary>
    /// MDLOO's leave-one-out advantages: rewards [prompts x k] (each prompt's k answers in a row) -> [prompts x k],
    /// <c>A_i = R_i - (Σ_j R_j - R_i) / (k - 1)</c>.
    /// </summary>
    public static Tensor LeaveOneOut(Tensor rewards)
    {
        long k = rewards.shape[1];
        return rewards - (rewards.sum(1, keepdim: true) - rewards) / (k - 1);
    }

    /// <summary>
    /// On-policy MDPO's objective to minimize (Tomar et al.), per answer averaged over its target tokens, then over answers:
    /// <c>-A exp(log π_θ(y_t) - log π_k(y_t)) + λ KL(π_θ(·|s_t) || π_k(·|s_t))</c>. logProbs, oldLogProbs: [n, L, V] log
    /// distributions of the policy being trained and of the iteration's starting policy; targets [n, L]; mask [n, L] (0/1
    /// float, at least one 1 per row); advantages [n].
    /// </summary>
    public static Tensor MirrorDescent(Tensor logProbs, Tensor oldLogProbs, Tensor targets, Tensor mask, Tensor advantages, double trustRegion)
    {
        var index = targets.unsqueeze(2);
        var ratio = (logProbs.gather(2, index) - oldLogProbs.gather(2, index)).squeeze(2).exp();
        var kl = (logProbs.exp() * (logProbs - oldLogProbs)).sum(2);
        var lengths = mask.sum(1);
        var surrogate = (ratio * mask).sum(1) / lengths;
        var trust = (kl * mask).sum(1) / lengths;
        return -(advantages * surrogate).mean() + trustRegion * trust.mean();
    }
}
