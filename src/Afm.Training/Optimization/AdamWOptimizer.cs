using static TorchSharp.torch;

namespace Afm.Training.Optimization;

/// <summary>
/// AdamW (Loshchilov and Hutter): bias-corrected first and second moments (betas 0.9/0.95, eps 1e-8), weight
/// decay decoupled from the gradient and scaled by the learning rate (p -= lr * wd * p), as torch.optim.AdamW.
/// </summary>
public sealed class AdamWOptimizer(IReadOnlyList<OptimizedParameter> parameters, double weightDecay,
    double beta1 = 0.9, double beta2 = 0.95, double epsilon = 1e-8) : StageOptimizerBase(parameters, weightDecay)
{
    protected override string[] Slots => ["exp_avg", "exp_avg_sq"];

    protected override void Update(OptimizedParameter p, Tensor grad, double learningRate, double peakLearningRate, long step)
    {
        var m = Slot(p, "exp_avg");
        var v = Slot(p, "exp_avg_sq");
        var weight = p.Parameter;
        if (p.Decay && WeightDecay > 0) weight.mul_(1 - learningRate * WeightDecay);
        m.mul_(beta1).add_(grad, alpha: 1 - beta1);
        v.mul_(beta2).addcmul_(grad, grad, value: 1 - beta2);
        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2 = 1 - Math.Pow(beta2, step);
        var denominator = v.sqrt().div_(Math.Sqrt(biasCorrection2)).add_(epsilon);
        weight.addcdiv_(m, denominator, value: -learningRate / biasCorrection1);
    }
}
