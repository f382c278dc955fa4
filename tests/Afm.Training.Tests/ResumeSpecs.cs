using System.Text.Json;
using Afm.Core.Spec;
using Afm.Training.Stages;

namespace Afm.Training.Tests;

public sealed class ResumeSpecs
{
    private static ModelSpec TwoStages(StageOptimizer optimizer) => MicroModels.Spec(null,
        MicroModels.Stage(steps: 30, evalEvery: 10) with { CheckpointEvery = 7, Optimizer = optimizer },
        MicroModels.Stage("context", steps: 10, ropeBase: 6315089) with { CheckpointEvery = 4, Optimizer = optimizer });

    /// <summary>Trains until the line <paramref name="stopAfter"/> is reported, then cancels (a killed build, minus the kill).</summary>
    private static void TrainUntil(ModelSpec spec, string dir, string stopAfter)
    {
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Train(spec, MicroModels.CountingData(), dir,
            line => { if (line.StartsWith(stopAfter, StringComparison.Ordinal)) cancel.Cancel(); }, cancel.Token));
    }

    [Theory]
    [InlineData(StageOptimizer.AdamW)]
    [InlineData(StageOptimizer.Afm)]
    public void A_stage_stopped_after_a_mid_stage_checkpoint_resumes_to_byte_identical_weights_and_report(StageOptimizer optimizer)
    {
        var spec = TwoStages(optimizer);
        var straight = Trainer.Train(spec, MicroModels.CountingData(), MicroModels.TempDirectory());
        string dir = MicroModels.TempDirectory();
        TrainUntil(spec, dir, "train core: checkpoint at step 14/30");
        Assert.True(Directory.Exists(Path.Combine(dir, "core.step-000000014")));

        var lines = new List<string>();
        var resumed = Trainer.Train(spec, MicroModels.CountingData(), dir, lines.Add);

        Assert.Contains("train core: resuming at step 14/30", string.Join('\n', lines));
        Assert.Equal(File.ReadAllBytes(straight.FinalWeightsPath), File.ReadAllBytes(resumed.FinalWeightsPath));
        Assert.Equal(JsonSerializer.Serialize(straight.Stages), JsonSerializer.Serialize(resumed.Stages));
        Assert.DoesNotContain(Directory.GetDirectories(dir), d => Path.GetFileName(d).Contains(".step-"));
    }

    [Fact]
    public void A_later_stage_resumes_mid_stage_without_retraining_the_earlier_one()
    {
        var spec = TwoStages(StageOptimizer.AdamW);
        var straight = Trainer.Train(spec, MicroModels.CountingData(), MicroModels.TempDirectory());
        string dir = MicroModels.TempDirectory();
        TrainUntil(spec, dir, "train context: checkpoint at step 8/10");

        var lines = new List<string>();
        var resumed = Trainer.Train(spec, MicroModels.CountingData(), dir, lines.Add);

        Assert.Equal([true, false], resumed.Timings!.Stages.Select(t => t.Skipped));
        Assert.Contains("train context: resuming at step 8/10", string.Join('\n', lines));
        Assert.Equal(File.ReadAllBytes(straight.FinalWeightsPath), File.ReadAllBytes(resumed.FinalWeightsPath));
    }

    [Fact]
    public void Only_the_latest_mid_stage_checkpoint_is_kept()
    {
        string dir = MicroModels.TempDirectory();
        TrainUntil(TwoStages(StageOptimizer.AdamW), dir, "train core: checkpoint at step 21/30");
        Assert.Equal(["core.step-000000021"], Directory.GetDirectories(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_mid_stage_checkpoint_of_a_changed_stage_is_not_resumed()
    {
        string dir = MicroModels.TempDirectory();
        TrainUntil(TwoStages(StageOptimizer.AdamW), dir, "train core: checkpoint at step 14/30");
        var changed = MicroModels.Spec(null, MicroModels.Stage(steps: 30, lr: 5e-3) with { CheckpointEvery = 7 });

        var lines = new List<string>();
        Trainer.Train(changed, MicroModels.CountingData(), dir, lines.Add);

        Assert.DoesNotContain(lines, l => l.Contains("resuming", StringComparison.Ordinal));
    }

    [Fact]
    public void Checkpoint_frequency_is_not_part_of_the_result()
    {
        var every7 = Trainer.Train(TwoStages(StageOptimizer.Afm), MicroModels.CountingData(), MicroModels.TempDirectory());
        var spec = TwoStages(StageOptimizer.Afm);
        var never = spec with { TrainingStages = spec.TrainingStages.Select(s => s with { CheckpointEvery = 0 }).ToList() };
        var without = Trainer.Train(never, MicroModels.CountingData(), MicroModels.TempDirectory());
        Assert.Equal(File.ReadAllBytes(every7.FinalWeightsPath), File.ReadAllBytes(without.FinalWeightsPath));
    }

    [Fact]
    public void A_sampler_moved_to_a_position_continues_with_the_same_sequences()
    {
        var data = new CountingSequences(4, 10, 16, 1);
        var straight = new SequenceSampler(data, 99);
        var skipped = new SequenceSampler(data, 99);
        var a = new int[3 * 5];
        var b = new int[3 * 5];
        for (int i = 0; i < 9; i++) straight.NextBatch(a, 3); // 27 sequences: into the third epoch
        skipped.Seek(27);
        straight.NextBatch(a, 3);
        skipped.NextBatch(b, 3);
        Assert.Equal(a, b);
        Assert.Equal(30, skipped.Consumed);
    }
}
