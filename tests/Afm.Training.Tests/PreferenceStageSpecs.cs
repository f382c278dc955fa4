using System.Text.Json;
using Afm.Core.Spec;
using Afm.Training.Stages;

namespace Afm.Training.Tests;

public sealed class PreferenceStageSpecs
{
    internal static TrainingStageSpec Reward(long steps = 60, bool softLabels = true, double gradeWeight = 0.1) =>
        MicroModels.Stage("rm", steps: steps, lr: 3e-3, evalEvery: 20) with
        {
            Kind = StageKind.Reward, Mix = [], Preference = new PreferenceStageSpec { SoftLabels = softLabels, GradeWeight = gradeWeight },
        };

    internal static TrainingStageSpec Dpo(long steps = 40, PreferenceLoss loss = PreferenceLoss.Dpo, string? rewardModel = null) =>
        MicroModels.Stage("dpo", steps: steps, lr: 2e-3, evalEvery: 20) with
        {
            Kind = StageKind.Dpo, Mix = [], Preference = new PreferenceStageSpec { Loss = loss, Beta = 0.1, RewardModel = rewardModel },
        };

    [Fact]
    public void A_reward_stage_learns_to_rank_held_out_pairs_and_reports_accuracy_per_level()
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 20), Reward());
        var report = Trainer.Train(spec, PreferenceTaskPairs.Data("rm"), MicroModels.TempDirectory());

        var preference = report.Stages[1].Preference!;
        Assert.Equal("reward", preference.Kind);
        Assert.Equal(32, preference.HeldOutPairs);
        Assert.True(preference.Accuracy >= 0.9, $"held-out accuracy {preference.Accuracy}");
        Assert.Equal(32, preference.ByLevel.Sum(l => l.Pairs));
        Assert.True(report.Stages[1].ValidationCurve[^1].Loss < report.Stages[1].ValidationCurve[0].Loss);
    }

    [Fact]
    public void A_reward_stage_does_not_change_the_model_the_project_builds()
    {
        var pretrainOnly = Trainer.Train(MicroModels.Spec(null, MicroModels.Stage(steps: 20)), MicroModels.CountingData(), MicroModels.TempDirectory());
        var withReward = Trainer.Train(MicroModels.Spec(null, MicroModels.Stage(steps: 20), Reward(steps: 10)),
            PreferenceTaskPairs.Data("rm"), MicroModels.TempDirectory());

        Assert.EndsWith(Path.Combine("core", "model.safetensors"), withReward.FinalWeightsPath);
        Assert.Equal(File.ReadAllBytes(pretrainOnly.FinalWeightsPath), File.ReadAllBytes(withReward.FinalWeightsPath));
    }

    [Fact]
    public void A_dpo_stage_ranks_held_out_pairs_by_its_implicit_reward_and_raises_the_reward_models_score()
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 20), Reward(), Dpo(rewardModel: "rm"));
        var report = Trainer.Train(spec, PreferenceTaskPairs.Data("rm", "dpo"), MicroModels.TempDirectory());

        var dpo = report.Stages[2].Preference!;
        Assert.Equal("dpo", dpo.Kind);
        Assert.True(dpo.Accuracy >= 0.9, $"held-out preference accuracy {dpo.Accuracy}");
        Assert.True(dpo.MeanMargin > 0 && dpo.MeanChosenReward > dpo.MeanRejectedReward);
        Assert.Equal("rm", dpo.RewardModel);
        Assert.True(dpo.MeanRewardTrained > dpo.MeanRewardReference, $"reward of greedy answers {dpo.MeanRewardReference} -> {dpo.MeanRewardTrained}");
        Assert.EndsWith(Path.Combine("dpo", "model.safetensors"), report.FinalWeightsPath);
    }

    [Fact]
    public void An_ipo_stage_trains_toward_its_target_margin()
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 20), Dpo(loss: PreferenceLoss.Ipo));
        var report = Trainer.Train(spec, PreferenceTaskPairs.Data("dpo"), MicroModels.TempDirectory());
        var curve = report.Stages[1].ValidationCurve;
        Assert.True(curve[^1].Loss < curve[0].Loss, $"IPO loss {curve[0].Loss} -> {curve[^1].Loss}");
        Assert.True(report.Stages[1].Preference!.Accuracy >= 0.9);
    }

    /// <summary>Trains until the line <paramref name="stopAfter"/> is reported, then cancels (a killed build, minus the kill).</summary>
    internal static void TrainUntil(ModelSpec spec, Func<string, string, Afm.Data.Packing.IPackedSequences> data, string dir, string stopAfter)
    {
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Train(spec, data, dir,
            line => { if (line.StartsWith(stopAfter, StringComparison.Ordinal)) cancel.Cancel(); }, cancel.Token));
    }

    [Theory]
    [InlineData("rm")]
    [InlineData("dpo")]
    public void A_preference_stage_stopped_after_a_mid_stage_checkpoint_resumes_to_byte_identical_weights_and_report(string stopped)
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 20),
            Reward(steps: 30) with { CheckpointEvery = 7 }, Dpo(steps: 30, rewardModel: "rm") with { CheckpointEvery = 7 });
        var data = PreferenceTaskPairs.Data("rm", "dpo");
        string straightDir = MicroModels.TempDirectory();
        var straight = Trainer.Train(spec, data, straightDir);
        string dir = MicroModels.TempDirectory();
        TrainUntil(spec, data, dir, $"train {stopped}: checkpoint at step 14/30");
        Assert.True(Directory.Exists(Path.Combine(dir, $"{stopped}.step-000000014")));

        var lines = new List<string>();
        var resumed = Trainer.Train(spec, data, dir, lines.Add);

        Assert.Contains($"train {stopped}: resuming at step 14/30", string.Join('\n', lines));
        foreach (var stage in new[] { "rm", "dpo" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(straightDir, stage, "model.safetensors")), File.ReadAllBytes(Path.Combine(dir, stage, "model.safetensors")));
        Assert.Equal(JsonSerializer.Serialize(straight.Stages), JsonSerializer.Serialize(resumed.Stages));
    }

    [Fact]
    public void A_trained_preference_stage_is_skipped_and_a_changed_pair_trains_it_again()
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 10), Reward(steps: 10));
        string dir = MicroModels.TempDirectory();
        Trainer.Train(spec, PreferenceTaskPairs.Data("rm"), dir);

        var again = Trainer.Train(spec, PreferenceTaskPairs.Data("rm"), dir);
        Assert.Equal([true, true], again.Timings!.Stages.Select(t => t.Skipped));

        // Same counts and shapes, one pair's labels different (grades given): the content is part of the fingerprint.
        Func<string, string, Afm.Data.Packing.IPackedSequences> changed = (stage, split) => stage == "rm"
            ? PreferenceTaskPairs.Create(16, split == "train" ? 256 : 32, split == "train" ? 0 : 100_000, grades: true)
            : MicroModels.CountingData()(stage, split);
        var retrained = Trainer.Train(spec, changed, dir);
        Assert.Equal([true, false], retrained.Timings!.Stages.Select(t => t.Skipped));
    }
}
