using System.Text.Json;
using Afm.Core.Spec;
using Afm.Training.Stages;

namespace Afm.Training.Tests;

/// <summary>Kind="rejection-sampling" (iTeC, specs/post-training.md) on the checkable copy-the-prompt pairs.</summary>
public sealed class RejectionSamplingSpecs
{
    private static TrainingStageSpec Sampling(string name = "rs", long steps = 20, params string[] committee) =>
        MicroModels.Stage(name, steps: steps, lr: 3e-3, evalEvery: 10) with
        {
            Kind = StageKind.RejectionSampling, Mix = [],
            Preference = new PreferenceStageSpec { RewardModel = "rm", Committee = committee, Samples = 4, Temperature = 1.0 },
        };

    private static readonly Func<string, string, Afm.Data.Packing.IPackedSequences> Data = PreferenceTaskPairs.Data("rm", "dpo", "rs");

    [Fact]
    public void It_keeps_the_best_scored_answer_per_prompt_and_fine_tuning_on_them_raises_the_reward_of_greedy_answers()
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 20), PreferenceStageSpecs.Reward(), Sampling(steps: 30, committee: "core"));
        var report = Trainer.Train(spec, Data, MicroModels.TempDirectory());

        var sampling = report.Stages[2].Sampling!;
        Assert.Equal(("rejection-sampling", "rm", 4), (sampling.Kind, sampling.RewardModel, sampling.Samples));
        Assert.Equal(240, sampling.Prompts); // 30 steps x 8 answers, fewer than the 256 training pairs
        var member = Assert.Single(sampling.Committee!);
        Assert.Equal(("core", 1.0), (member.Name, member.KeptShare));
        Assert.Equal(member.MeanBestReward, sampling.MeanKeptReward);
        Assert.True(member.MeanBestReward > member.MeanReward, $"best of 4 {member.MeanBestReward} vs mean {member.MeanReward}");
        Assert.True(sampling.MeanRewardTrained > sampling.MeanRewardIncoming, $"greedy reward {sampling.MeanRewardIncoming} -> {sampling.MeanRewardTrained}");
        Assert.EndsWith(Path.Combine("rs", "model.safetensors"), report.FinalWeightsPath);
    }

    [Fact]
    public void A_committee_keeps_each_prompts_best_answer_of_any_member_and_each_member_answers_as_it_would_alone()
    {
        TrainingStageSpec[] Stages(params string[] committee) =>
            [MicroModels.Stage(steps: 20), PreferenceStageSpecs.Reward(), PreferenceStageSpecs.Dpo(steps: 20), Sampling("rs", 10, committee)];
        var together = Trainer.Train(MicroModels.Spec(null, Stages("dpo", "core")), Data, MicroModels.TempDirectory()).Stages[3].Sampling!;
        var alone = Trainer.Train(MicroModels.Spec(null, Stages("core")), Data, MicroModels.TempDirectory()).Stages[3].Sampling!;

        Assert.Equal(["dpo", "core"], together.Committee!.Select(m => m.Name));
        Assert.Equal(1.0, together.Committee!.Sum(m => m.KeptShare), 3);
        Assert.True(together.MeanKeptReward >= together.Committee!.Max(m => m.MeanBestReward));
        Assert.Equal((alone.Committee![0].MeanBestReward, alone.Committee[0].MeanReward), (together.Committee![1].MeanBestReward, together.Committee[1].MeanReward));
    }

    [Fact]
    public void A_rejection_sampling_stage_stopped_after_a_mid_stage_checkpoint_resumes_to_byte_identical_weights_and_report()
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 20), PreferenceStageSpecs.Reward(steps: 20),
            Sampling(steps: 20, committee: "core") with { CheckpointEvery = 7 });
        string straightDir = MicroModels.TempDirectory();
        var straight = Trainer.Train(spec, Data, straightDir);
        string dir = MicroModels.TempDirectory();
        PreferenceStageSpecs.TrainUntil(spec, Data, dir, "train rs: checkpoint at step 14/20");

        var lines = new List<string>();
        var resumed = Trainer.Train(spec, Data, dir, lines.Add);

        Assert.Contains("train rs: resuming at step 14/20", string.Join('\n', lines));
        Assert.Equal(File.ReadAllBytes(Path.Combine(straightDir, "rs", "model.safetensors")), File.ReadAllBytes(Path.Combine(dir, "rs", "model.safetensors")));
        Assert.Equal(JsonSerializer.Serialize(straight.Stages), JsonSerializer.Serialize(resumed.Stages));
    }
}
