using Afm.Core.Spec;

namespace Afm.Training.Stages;

/// <summary>
/// Learning rate of a stage at a 0-based optimizer step: linear warmup to LearningRate over WarmupSteps
/// (step 0 already gets LearningRate/WarmupSteps, never 0), then the stage's schedule over the remaining
/// steps, reaching exactly LearningRate*FinalLearningRateRatio at the last step (cosine, linear) or staying
/// at LearningRate (constant).
/// </summary>
public static class LearningRateScheduler
{
    public static double At(TrainingStageSpec stage, long step) =>
        At(stage.LearningRate, stage.FinalLearningRateRatio, stage.Schedule, stage.WarmupSteps, stage.Steps, step);

    public static double At(double peak, double finalRatio, LearningRateSchedule schedule, long warmupSteps, long totalSteps, long step)
    {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        double floor = peak * finalRatio;
        long decaySteps = Math.Max(1, totalSteps - warmupSteps - 1);
        double progress = Math.Clamp((double)(step - warmupSteps) / decaySteps, 0, 1);
        return schedule switch
        {
            LearningRateSchedule.Constant => peak,
            LearningRateSchedule.Linear => peak + (floor - peak) * progress,
            LearningRateSchedule.Cosine => floor + (peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "Unknown learning rate schedule."),
        };
    }
}
