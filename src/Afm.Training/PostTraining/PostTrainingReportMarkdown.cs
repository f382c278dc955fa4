using System.Globalization;
using System.Text;
using Afm.Training.Stages;

namespace Afm.Training.PostTraining;

/// <summary>
/// reports/post-training.md: the reward and dpo stages' held-out results (the <c>preference</c> of their entries in
/// reports/training.json) and the rejection-sampling and rl stages' rewards (their <c>sampling</c>) as tables a reviewer
/// reads in a diff; null when the project has no such stage.
/// </summary>
public static class PostTrainingReportMarkdown
{
    public static string? Render(string title, TrainingSummary training)
    {
        var stages = training.Stages.Where(s => s.Preference is not null).ToList();
        var sampling = training.Stages.Where(s => s.Sampling is not null).ToList();
        if (stages.Count == 0 && sampling.Count == 0) return null;
        var md = new StringBuilder();
        string F(double? v, string format = "0.000") => v is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "n/a";
        md.AppendLine(CultureInfo.InvariantCulture, $"# Post-training: {title}").AppendLine();
        md.AppendLine("Held-out preference pairs of each reward and dpo stage (specs/post-training.md). Accuracy: share of pairs ranked right " +
            "(reward: r(chosen) > r(rejected); dpo: implicit reward margin β h > 0). Margin: mean r(chosen) - r(rejected), or mean β h.").AppendLine();
        foreach (var stage in stages)
        {
            var p = stage.Preference!;
            md.AppendLine(CultureInfo.InvariantCulture, $"## {stage.Name} ({p.Kind})").AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"{stage.Steps} steps of {stage.BatchSize} pairs; held-out loss {F(stage.ValidationCurve[0].Loss, "0.0000")} before, {F(stage.FinalValidationLoss, "0.0000")} after.").AppendLine();
            md.AppendLine("| level | pairs | accuracy | mean margin |");
            md.AppendLine("|---|---:|---:|---:|");
            foreach (var level in p.ByLevel)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {level.Level} | {level.Pairs} | {F(level.Accuracy, "0.0%")} | {F(level.MeanMargin)} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| all | {p.HeldOutPairs} | {F(p.Accuracy, "0.0%")} | {F(p.MeanMargin)} |").AppendLine();
            if (p.MeanChosenReward is not null)
                md.AppendLine(CultureInfo.InvariantCulture, $"Mean implicit reward β (log π - log π_ref): chosen {F(p.MeanChosenReward)}, rejected {F(p.MeanRejectedReward)}.").AppendLine();
            if (p.RewardModel is not null)
                md.AppendLine(CultureInfo.InvariantCulture, $"Mean `{p.RewardModel}` reward of greedy answers to {p.ScoredPrompts} held-out prompts: reference {F(p.MeanRewardReference)}, trained {F(p.MeanRewardTrained)}.").AppendLine();
        }
        foreach (var stage in sampling)
        {
            var r = stage.Sampling!;
            md.AppendLine(CultureInfo.InvariantCulture, $"## {stage.Name} ({r.Kind})").AppendLine();
            string fromEach = r.Committee is null ? "" : " from each member";
            md.AppendLine(CultureInfo.InvariantCulture, $"{stage.Steps} steps; {r.Prompts} training prompts, {r.Samples} answers per prompt{fromEach} at temperature {F(r.Temperature, "0.##")}, scored by `{r.RewardModel}`.").AppendLine();
            if (r.Committee is { } committee)
            {
                md.AppendLine("| member | mean best reward (alone) | mean reward | kept |");
                md.AppendLine("|---|---:|---:|---:|");
                foreach (var m in committee)
                    md.AppendLine(CultureInfo.InvariantCulture, $"| {m.Name} | {F(m.MeanBestReward)} | {F(m.MeanReward)} | {F(m.KeptShare, "0.0%")} |");
                md.AppendLine(CultureInfo.InvariantCulture, $"| committee (kept) | {F(r.MeanKeptReward)} | | |").AppendLine();
            }
            md.AppendLine(CultureInfo.InvariantCulture, $"Mean `{r.RewardModel}` reward of greedy answers to {r.ScoredPrompts} held-out prompts: incoming {F(r.MeanRewardIncoming)}, trained {F(r.MeanRewardTrained)}.").AppendLine();
        }
        return md.ToString();
    }
}
