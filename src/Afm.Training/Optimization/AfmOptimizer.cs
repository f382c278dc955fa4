using static TorchSharp.torch;

namespace Afm.Training.Optimization;

/// <summary>
/// The optimizer of the AFM report (section 3.2.4), for one parameter block (tensor) p with gradient g at step t
/// (the trainer has already clipped the global gradient norm, to 1.0 by default):
/// <code>
///   v  = beta2 * v + (1 - beta2) * g^2                  (beta2 = 0.95)
///   u  = g / (sqrt(v / (1 - beta2^t)) + eps)            (RMSProp-style, bias-corrected; eps = 1e-30)
///   u  = u * min(1, clip / ||u||)                       (per-block update clipping, clip = 1.0)
///   m  = beta1 * m + (1 - beta1) * u                    (beta1 = 0.95, NOT bias-corrected)
///   p  = p - lr_t * m - wd * (lr_t / lr_peak) * p       (decay decoupled from the LR, following the schedule)
/// </code>
/// Weight decay follows the schedule but not the peak LR, which is why the report's value (3.16e-4) is
/// orders of magnitude above an AdamW lr-scaled decay. The decay uses p before this step's update.
/// </summary>
public sealed class AfmOptimizer(IReadOnlyList<OptimizedParameter> parameters, double weightDecay,
    double beta1 = 0.95, double beta2 = 0.95, double epsilon = 1e-30, double updateClip = 1.0) : StageOptimizerBase(parameters, weightDecay)
{
    protected override string[] Slots => ["exp_avg", "exp_avg_sq"];

    protected override void Update(OptimizedParameter p, Tensor grad, double learningRate, double peakLearningRate, long step)
    {
        var m = Slot(p, "exp_avg");
        var v = Slot(p, "exp_avg_sq");
        var weight = p.Parameter;
        v.mul_(beta2).addcmul_(grad, grad, value: 1 - beta2);
        double biasCorrection2 = 1 - Math.Pow(beta2, step);
        var update = grad.div(v.sqrt().div_(Math.Sqrt(biasCorrection2)).add_(epsilon));
        // min(1, clip/||u||) as a tensor op: no host round trip per parameter.
        var scale = update.norm().clamp_min(1e-38).reciprocal().mul_(updateClip).clamp_max_(1.0);
        update.mul_(scale);
        m.mul_(beta1).add_(update, alpha: 1 - beta1);
        if (p.Decay && WeightDecay > 0 && peakLearningRate > 0) weight.mul_(1 - WeightDecay * learningRate / peakLearningRate);
        weight.add_(m, alpha: -learningRate);
    }
}
