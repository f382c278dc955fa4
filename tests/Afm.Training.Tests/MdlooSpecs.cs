using System.Text.Json;
using Afm.Core.Spec;
using Afm.Training.Stages;

namespace Afm.Training.Tests;

/// <summary>Kind="rl" (MDLOO, specs/post-training.md) on the checkable copy-the-prompt pairs.</summary>
public sealed class MdlooSpecs
{
    private static TrainingStageSpec Rl(long steps = 30, double beta = 0.05) =>
        MicroModels.Stage("rl", steps: steps, lr: 3e-3, evalEvery: 10) with
        {
            Kind = StageKind.Rl, Mix = [],
            Preference = new PreferenceStageSpec { RewardModel = "rm", Beta = beta, Samples = 4, Temperature = 1.0, PolicySteps = 2, TrustRegion = 1.0 },
        };

    private static readonly Func<string, string, Afm.Data.Packing.IPackedSequences> Data = PreferenceTaskPairs.Data("rm", "rl");

    [Fact]
    public void An_rl_stage_raises_the_reward_of_greedy_held_out_answers()
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 20), PreferenceStageSpecs.Reward(), Rl());
        var report = Trainer.Train(spec, Data, MicroModels.TempDirectory());

        var rl = report.Stages[2];
        var sampling = rl.Sampling!;
        Assert.Equal(("rl", "rm", 4), (sampling.Kind, sampling.RewardModel, sampling.Samples));
        Assert.Equal(30 * 2, sampling.Prompts); // batch 8 = 2 prompts x 4 answers per step
        Assert.True(sampling.MeanRewardTrained > sampling.MeanRewardIncoming, $"greedy reward {sampling.MeanRewardIncoming} -> {sampling.MeanRewardTrained}");
        // The validation curve is minus the mean reward of greedy answers to held-out prompts: it falls.
        Assert.True(rl.ValidationCurve[^1].Loss < rl.ValidationCurve[0].Loss, string.Join(", ", rl.ValidationCurve.Select(p => p.Loss)));
        Assert.EndsWith(Path.Combine("rl", "model.safetensors"), report.FinalWeightsPath);
    }

    [Fact]
    public void An_rl_stage_stopped_after_a_mid_stage_checkpoint_resumes_to_byte_identical_weights_and_report()
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 20), PreferenceStageSpecs.Reward(steps: 20), Rl(steps: 20) with { CheckpointEvery = 7 });
        string straightDir = MicroModels.TempDirectory();
        var straight = Trainer.Train(spec, Data, straightDir);
        string dir = MicroModels.TempDirectory();
        PreferenceStageSpecs.TrainUntil(spec, Data, dir, "train rl: checkpoint at step 14/20");

        var lines = new List<string>();
        var resumed = Trainer.Train(spec, Data, dir, lines.Add);

        Assert.Contains("train rl: resuming at step 14/20", string.Join('\n', lines));
        Assert.Equal(File.ReadAllBytes(Path.Combine(straightDir, "rl", "model.safetensors")), File.ReadAllBytes(Path.Combine(dir, "rl", "model.safetensors")));
        Assert.Equal(JsonSerializer.Serialize(straight.Stages), JsonSerializer.Serialize(resumed.Stages));
    }
}
