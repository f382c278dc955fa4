using Afm.Data.Packing;

namespace Afm.Training.Stages;

/// <summary>
/// reports/training.json: the training report as the artifact carries it — per-stage curves and results,
/// the final validation loss and the unigram baseline of the same validation data, which is the number a
/// model must clearly beat to have learned more than token frequencies. No wall-clock times (not reproducible).
/// </summary>
public sealed record TrainingSummary
{
    public required long ParameterCount { get; init; }
    public required double FinalValidationLoss { get; init; }
    public required double UnigramBaselineLoss { get; init; }
    public required IReadOnlyList<StageReport> Stages { get; init; }

    public static TrainingSummary From(TrainingReport training, DataIndex data)
    {
        // The final model's figures: a post-training stage's validation loss is not a next-token loss on its data (a reward
        // stage's model is not the final model; rl's curve is minus a reward), so the last language-model stage's.
        var last = training.Stages.LastOrDefault(s => s.Preference is null && s.Sampling is null) ?? training.Stages[^1];
        var baseline = data.Stage(last.Name).UnigramCrossEntropy;
        return new TrainingSummary
        {
            ParameterCount = training.ParameterCount,
            FinalValidationLoss = Math.Round(last.FinalValidationLoss ?? double.NaN, 6),
            UnigramBaselineLoss = Math.Round(baseline ?? double.NaN, 6),
            Stages = training.Stages,
        };
    }
}
