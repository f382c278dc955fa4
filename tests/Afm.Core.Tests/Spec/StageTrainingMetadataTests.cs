using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

public sealed class StageTrainingMetadataTests
{
    [Fact]
    public void Stages_checkpoint_about_ten_times_and_use_AdamW_by_default()
    {
        using var project = new TestProject();
        var core = project.Read().Spec!.TrainingStages[0];
        Assert.Equal(core.Steps / 10, core.CheckpointEvery);
        Assert.Equal(StageOptimizer.AdamW, core.Optimizer);
        Assert.Equal(0.1, core.WeightDecay);
    }

    [Fact]
    public void CheckpointEvery_sets_the_checkpoint_interval_in_steps()
    {
        using var project = TestProject.With("Mix=\"web=3;code=1\"", "Mix=\"web=3;code=1\" CheckpointEvery=\"50\"");
        Assert.Equal(50, project.Read().Spec!.TrainingStages[0].CheckpointEvery);
    }

    [Fact]
    public void A_negative_CheckpointEvery_is_an_error_at_CheckpointEvery()
    {
        using var project = TestProject.With("Mix=\"web=3;code=1\"", "Mix=\"web=3;code=1\" CheckpointEvery=\"-5\"");
        var result = project.Read();
        Assert.Null(result.Spec);
        Assert.Contains(result.Diagnostics, d => d.Location == project.Locate("CheckpointEvery="));
    }

    [Fact]
    public void The_afm_optimizer_defaults_to_the_reports_weight_decay()
    {
        using var project = TestProject.With("Mix=\"web=3;code=1\"", "Mix=\"web=3;code=1\" Optimizer=\"afm\"");
        var core = project.Read().Spec!.TrainingStages[0];
        Assert.Equal(StageOptimizer.Afm, core.Optimizer);
        Assert.Equal(3.16e-4, core.WeightDecay);
    }

    [Fact]
    public void An_unknown_optimizer_is_AFM1411_at_Optimizer()
    {
        using var project = TestProject.With("Mix=\"web=3;code=1\"", "Mix=\"web=3;code=1\" Optimizer=\"sgd\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1411", project.Locate("Optimizer="));
    }
}
