using Afm.Core.Spec;
using Afm.Training.Stages;

namespace Afm.Training.Tests;

public sealed class ScheduleSpecs
{
    [Fact]
    public void Warmup_rises_linearly_to_the_peak()
    {
        Assert.Equal(0.1, LearningRateScheduler.At(1.0, 0.1, LearningRateSchedule.Cosine, 10, 100, 0), 12);
        Assert.Equal(0.5, LearningRateScheduler.At(1.0, 0.1, LearningRateSchedule.Cosine, 10, 100, 4), 12);
        Assert.Equal(1.0, LearningRateScheduler.At(1.0, 0.1, LearningRateSchedule.Cosine, 10, 100, 9), 12);
    }

    [Fact]
    public void Cosine_starts_at_the_peak_and_ends_at_the_final_ratio()
    {
        Assert.Equal(2e-3, LearningRateScheduler.At(2e-3, 0.005, LearningRateSchedule.Cosine, 10, 100, 10), 15);
        Assert.Equal(2e-3 * 0.005, LearningRateScheduler.At(2e-3, 0.005, LearningRateSchedule.Cosine, 10, 100, 99), 15);
        double middle = LearningRateScheduler.At(1.0, 0.0, LearningRateSchedule.Cosine, 0, 101, 50);
        Assert.Equal(0.5, middle, 12);
    }

    [Fact]
    public void Linear_decays_in_equal_steps_and_constant_stays_at_the_peak()
    {
        Assert.Equal(0.55, LearningRateScheduler.At(1.0, 0.1, LearningRateSchedule.Linear, 0, 11, 5), 12);
        Assert.Equal(0.1, LearningRateScheduler.At(1.0, 0.1, LearningRateSchedule.Linear, 0, 11, 10), 12);
        Assert.Equal(1.0, LearningRateScheduler.At(1.0, 0.1, LearningRateSchedule.Constant, 3, 11, 10), 12);
    }
}
