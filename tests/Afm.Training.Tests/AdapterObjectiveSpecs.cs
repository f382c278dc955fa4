using Afm.Core.Spec;
using Afm.Training.Adapters;
using Afm.Training.Stages;

namespace Afm.Training.Tests;

/// <summary>
/// Recovery objectives (specs/adapters.md, Objective): the loss the trainer reports at each step is the one it minimizes.
/// Measured on the first step, where a fresh adapter (B = 0) leaves the student exactly the float model: KL to a float
/// teacher is 0 there, and cross-entropy is the model's own.
/// </summary>
public sealed class AdapterObjectiveSpecs
{
    private static AdapterSpec Recovery(AdapterObjective objective, double distillation) => new()
    {
        Name = "recovery-r4", Item = "recovery", Kind = AdapterKind.AccuracyRecovery, Rank = 4, Alpha = 8, Version = "0.0.1",
        Tokens = 4 * 16 * 8, SequenceLength = 16, BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 1, FinalLearningRateRatio = 0.1,
        TrainingStage = "core", Objective = objective, Distillation = distillation,
    };

    private static IReadOnlyList<AdapterTrainPoint> Train(AdapterObjective objective, double distillation)
    {
        var report = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory());
        using var student = AdapterBase.FromFloat(MicroModels.Architecture(), report.FinalWeightsPath);
        using var teacher = AdapterBase.FromFloat(MicroModels.Architecture(), report.FinalWeightsPath);
        using var adapter = LoraAdapter.Create(MicroModels.Architecture(), 4, 8, seed: 1);
        return new AdapterTrainer(student, adapter, Recovery(objective, distillation), null)
            .Train(MicroModels.CountingData()("core", "train"), 11, distillation > 0 ? teacher : null);
    }

    [Fact]
    public void Distill_reports_the_kl_to_the_float_model_which_is_zero_before_the_first_update()
    {
        var curve = Train(AdapterObjective.Distill, 1);
        // Only the first step: from there AdamW turns the rounding-level gradient at the optimum into lr-sized steps.
        Assert.Equal(0, curve[0].Loss, 5);
    }

    [Fact]
    public void Next_token_reports_the_cross_entropy_of_the_batch()
    {
        var curve = Train(AdapterObjective.NextToken, 0);
        Assert.True(curve[0].Loss > 0.05, $"{curve[0].Loss}");
    }

    [Fact]
    public void Mix_reports_the_weighted_sum_which_is_the_cross_entropy_times_one_minus_the_kl_weight_when_the_kl_is_zero()
    {
        double crossEntropy = Train(AdapterObjective.NextToken, 0)[0].Loss;
        Assert.Equal(0.75 * crossEntropy, Train(AdapterObjective.Mix, 0.25)[0].Loss, 4);
    }
}
