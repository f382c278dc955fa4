using System.Text.Json;
using Afm.Training.Checkpoints;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

public sealed class TrainerSpecs
{
    [Fact]
    public void Training_lowers_the_loss_on_a_learnable_sequence_source()
    {
        var report = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory());
        var stage = Assert.Single(report.Stages);
        Assert.True(stage.TrainCurve[^1].Loss < stage.TrainCurve[0].Loss * 0.6, $"{stage.TrainCurve[0].Loss} -> {stage.TrainCurve[^1].Loss}");
        Assert.True(stage.FinalValidationLoss < Math.Log(16) * 0.6, $"validation {stage.FinalValidationLoss}");
        Assert.Equal([0L, 20L, 40L], stage.ValidationCurve.Select(p => p.Step));
        Assert.Equal(40 * 8 * 16, stage.Tokens);
    }

    [Fact]
    public void Two_runs_with_the_same_seed_write_byte_identical_weights_and_reports()
    {
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 12), MicroModels.Stage("context", steps: 6, ropeBase: 6315089));
        string first = MicroModels.TempDirectory(), second = MicroModels.TempDirectory();
        var a = Trainer.Train(spec, MicroModels.CountingData(), first);
        var b = Trainer.Train(spec, MicroModels.CountingData(), second);

        Assert.Equal(File.ReadAllBytes(a.FinalWeightsPath), File.ReadAllBytes(b.FinalWeightsPath));
        Assert.Equal(JsonSerializer.Serialize(a with { FinalWeightsPath = "", Timings = null }),
                     JsonSerializer.Serialize(b with { FinalWeightsPath = "", Timings = null }));
    }

    [Fact]
    public void Each_stage_checkpoints_weights_optimizer_report_and_state()
    {
        string dir = MicroModels.TempDirectory();
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 4), MicroModels.Stage("context", steps: 3, ropeBase: 6315089));
        var report = Trainer.Train(spec, MicroModels.CountingData(), dir);

        foreach (var stage in new[] { "core", "context" })
            foreach (var file in new[] { StageCheckpoint.WeightsFile, StageCheckpoint.OptimizerFile, StageCheckpoint.ReportFile, StageCheckpoint.StateFile })
                Assert.True(File.Exists(Path.Combine(dir, stage, file)), $"{stage}/{file}");
        Assert.Equal(Path.Combine(dir, "context", StageCheckpoint.WeightsFile), report.FinalWeightsPath);
        Assert.DoesNotContain(Directory.GetDirectories(dir), d => Path.GetFileName(d).StartsWith('.'));
        Assert.Equal(6315089, report.Stages[1].RopeBase);
    }

    [Fact]
    public void A_stage_with_an_up_to_date_checkpoint_is_not_trained_again()
    {
        string dir = MicroModels.TempDirectory();
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 4), MicroModels.Stage("context", steps: 3));
        var fresh = Trainer.Train(spec, MicroModels.CountingData(), dir);
        var lines = new List<string>();
        var again = Trainer.Train(spec, MicroModels.CountingData(), dir, lines.Add);

        Assert.All(again.Timings!.Stages, t => Assert.True(t.Skipped));
        Assert.Equal(2, lines.Count(l => l.EndsWith("skipped", StringComparison.Ordinal)));
        Assert.Equal(JsonSerializer.Serialize(fresh.Stages), JsonSerializer.Serialize(again.Stages));
    }

    [Fact]
    public void Leftovers_of_a_killed_run_are_neither_used_nor_kept()
    {
        string dir = MicroModels.TempDirectory();
        string leftover = Path.Combine(dir, ".core.999999.tmp");
        Directory.CreateDirectory(leftover);
        File.WriteAllText(Path.Combine(leftover, StageCheckpoint.WeightsFile), "half a file");
        var report = Trainer.Train(MicroModels.Spec(null, MicroModels.Stage(steps: 2)), MicroModels.CountingData(), dir);

        Assert.False(report.Timings!.Stages[0].Skipped);
        Assert.False(Directory.Exists(leftover));
    }

    [Fact]
    public void Changing_a_later_stage_retrains_only_that_stage_from_the_earlier_checkpoint()
    {
        string dir = MicroModels.TempDirectory(), reference = MicroModels.TempDirectory();
        var core = MicroModels.Stage(steps: 4);
        Trainer.Train(MicroModels.Spec(null, core, MicroModels.Stage("context", steps: 3)), MicroModels.CountingData(), dir);
        var changed = MicroModels.Spec(null, core, MicroModels.Stage("context", steps: 3, lr: 5e-3));
        var resumed = Trainer.Train(changed, MicroModels.CountingData(), dir);
        var straight = Trainer.Train(changed, MicroModels.CountingData(), reference);

        Assert.Equal([true, false], resumed.Timings!.Stages.Select(t => t.Skipped));
        Assert.Equal(File.ReadAllBytes(straight.FinalWeightsPath), File.ReadAllBytes(resumed.FinalWeightsPath));
    }

    [Fact]
    public void A_trained_model_loads_back_with_the_same_outputs()
    {
        string dir = MicroModels.TempDirectory();
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 3, ropeBase: 50000));
        var report = Trainer.Train(spec, MicroModels.CountingData(), dir);
        using var model = Trainer.LoadModel(spec.Architecture, report.FinalWeightsPath);
        using var again = Trainer.LoadModel(spec.Architecture, report.FinalWeightsPath);
        Assert.Equal(50000, model.RopeBase);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(new long[] { 3, 4, 5, 6 }).reshape(1, 4);
        Assert.True(MicroModels.SameValues(model.forward(ids), again.forward(ids)));
    }

    [Fact]
    public void Progress_reports_stage_start_steps_and_end()
    {
        var lines = new List<string>();
        Trainer.Train(MicroModels.Spec(null, MicroModels.Stage(steps: 3)), MicroModels.CountingData(), MicroModels.TempDirectory(), lines.Add);
        Assert.StartsWith("train core: 3 steps", lines[0]);
        Assert.Matches(@"^train core: step 3/3 loss \d+\.\d{3} lr \d\.\de-\d+ [\d.]+k? tok/s eta \d\d:\d\d$", lines[^2]);
        Assert.StartsWith("train core: done in", lines[^1]);
    }
}
