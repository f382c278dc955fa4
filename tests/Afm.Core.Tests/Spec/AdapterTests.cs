using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

public sealed class AdapterTests
{
    private const string Anchor = "<EvalSet Include=\"data/eval/*.txt\" />";
    private const string Plan = "<QuantizationPlan Include=\"device\" />";
    private const string Recovery = "<Adapter Include=\"recovery\" Kind=\"accuracy-recovery\" Ranks=\"8;16;32\" Tokens=\"200k\" />";

    private static TestProject With(params string[] items)
    {
        var project = TestProject.With(Anchor, Anchor + "\n    " + string.Join("\n    ", items));
        project.WriteFile("data/summaries/a.jsonl", "{\"prompt\":\"p\",\"response\":\"r\"}\n");
        return project;
    }

    [Fact]
    public void A_recovery_item_becomes_one_adapter_per_rank_on_the_last_pretrain_stage_data()
    {
        using var project = With(Plan, Recovery);
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        var adapters = result.Spec!.Adapters;
        Assert.Equal(["recovery-r8", "recovery-r16", "recovery-r32"], adapters.Select(a => a.Name));
        Assert.All(adapters, a => Assert.Equal((AdapterKind.AccuracyRecovery, "context", 1024, "1.0.0", 200_000L, AdapterObjective.Distill, 1.0),
            (a.Kind, a.TrainingStage, a.SequenceLength, a.Version, a.Tokens, a.Objective, a.Distillation)));
        Assert.Equal([16.0, 32.0, 64.0], adapters.Select(a => a.Alpha));
    }

    [Fact]
    public void A_feature_adapter_starts_from_the_recovery_adapter_of_its_rank_and_is_trained_after_it()
    {
        using var project = With(
            "<Adapter Include=\"summarize\" Rank=\"16\" InitFrom=\"recovery\" Tokens=\"50k\" Data=\"data/summaries/*.jsonl\" Version=\"2.1.0\" />",
            Plan, Recovery);
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        var feature = result.Spec!.Adapters[^1];
        Assert.Equal(("summarize", AdapterKind.Feature, 16, "recovery-r16", "2.1.0", 256),
            (feature.Name, feature.Kind, feature.Rank, feature.InitFrom, feature.Version, feature.SequenceLength));
        Assert.Equal([Path.Combine(project.Directory, "data/summaries/a.jsonl")], feature.Data);
    }

    [Fact]
    public void Recovery_adapters_without_a_plan_are_a_warning_and_default_to_next_token()
    {
        using var project = With(Recovery);
        var result = project.Read();
        Assert.NotNull(result.Spec);
        Assert.Equal(("AFM6009", project.Locate("<Adapter")), (result.Diagnostics.Single().Code, result.Diagnostics.Single().Location));
        // Distill, the default with a plan, would be AFM6011 here: the float model is the base, there is nothing to distill.
        Assert.All(result.Spec!.Adapters, a => Assert.Equal((AdapterObjective.NextToken, 0.0), (a.Objective, a.Distillation)));
    }

    [Theory]
    [InlineData("<Adapter Include=\"r\" Kind=\"recovery\" Ranks=\"8\" Tokens=\"1k\" />", "AFM6001", "Kind=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8;x\" Tokens=\"1k\" />", "AFM6002", "Ranks=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8;8\" Tokens=\"1k\" />", "AFM6002", "Ranks=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"512\" Tokens=\"1k\" />", "AFM6002", "Ranks=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Tokens=\"1k\" />", "AFM6002", "<Adapter")]
    [InlineData("<Adapter Include=\"f\" Rank=\"16\" InitFrom=\"nothing\" Tokens=\"1k\" Data=\"data/summaries/a.jsonl\" />", "AFM6003", "InitFrom=")]
    [InlineData("<Adapter Include=\"f\" Rank=\"16\" Tokens=\"1k\" />", "AFM6004", "<Adapter")]
    [InlineData("<Adapter Include=\"f\" Rank=\"16\" Tokens=\"1k\" Data=\"data/summaires/*.jsonl\" />", "AFM6005", "Data=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8\" Tokens=\"1k\" TrainingStage=\"nope\" />", "AFM6006", "TrainingStage=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8\" Tokens=\"1k\" Data=\"data/summaries/a.jsonl\" />", "AFM6008", "Data=")]
    [InlineData("<Adapter Include=\"f\" Rank=\"16\" Tokens=\"1k\" Data=\"data/summaries/a.jsonl\" Ranks=\"8\" />", "AFM6008", "Ranks=")]
    [InlineData("<Adapter Include=\"f\" Rank=\"16\" Tokens=\"1k\" Data=\"data/summaries/a.jsonl\" Version=\"two\" />", "AFM1005", "Version=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8\" Tokens=\"1k\" Objective=\"kl\" />", "AFM1427", "Objective=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8\" Tokens=\"1k\" Objective=\"distill\" Distillation=\"0.3\" />", "AFM1428", "Distillation=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8\" Tokens=\"1k\" Objective=\"next-token\" Distillation=\"0\" />", "AFM1428", "Distillation=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8\" Tokens=\"1k\" Objective=\"mix\" Distillation=\"1.5\" />", "AFM1003", "Distillation=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8\" Tokens=\"1k\" Control=\"yes\" />", "AFM1004", "Control=")]
    [InlineData("<Adapter Include=\"f\" Rank=\"16\" Tokens=\"1k\" Data=\"data/summaries/a.jsonl\" Objective=\"distill\" />", "AFM6008", "Objective=")]
    [InlineData("<Adapter Include=\"f\" Rank=\"16\" Tokens=\"1k\" Data=\"data/summaries/a.jsonl\" Control=\"true\" />", "AFM6008", "Control=")]
    [InlineData("<Adapter Include=\"r\" Kind=\"accuracy-recovery\" Ranks=\"8\" Tokens=\"1k\" Init=\"svd\" />", "AFM1429", "Init=")]
    [InlineData("<Adapter Include=\"f\" Rank=\"16\" Tokens=\"1k\" Data=\"data/summaries/a.jsonl\" Init=\"error\" />", "AFM6008", "Init=")]
    public void A_bad_adapter_is_an_error_at_the_metadata_that_is_wrong(string adapter, string code, string where)
    {
        using var project = With(Plan, adapter);
        DiagnosticAssert.Error(project.Read(), code, project.Locate(where));
    }

    [Fact]
    public void InitFrom_a_recovery_adapter_without_the_rank_is_an_error_naming_its_ranks()
    {
        using var project = With(Plan, Recovery, "<Adapter Include=\"f\" Rank=\"4\" InitFrom=\"recovery\" Tokens=\"1k\" Data=\"data/summaries/a.jsonl\" />");
        var result = project.Read();
        DiagnosticAssert.Error(result, "AFM6003", project.Locate("InitFrom="));
        Assert.Contains("8;16;32", result.Diagnostics.Single(d => d.IsError).Message);
    }

    [Fact]
    public void Two_adapters_with_one_name_are_an_error()
    {
        using var project = With(Plan, Recovery, Recovery.Replace("Ranks=\"8;16;32\"", "Ranks=\"4\""));
        DiagnosticAssert.Error(project.Read(), "AFM6007", project.Locate("Include=\"recovery\"", 2));
    }

    [Theory]
    [InlineData("", AdapterObjective.Distill, 1.0)]
    [InlineData("Objective=\"next-token\"", AdapterObjective.NextToken, 0.0)]
    [InlineData("Objective=\"distill\"", AdapterObjective.Distill, 1.0)]
    [InlineData("Objective=\"MIX\"", AdapterObjective.Mix, 0.5)]
    [InlineData("Objective=\"mix\" Distillation=\"0.25\"", AdapterObjective.Mix, 0.25)]
    [InlineData("Distillation=\"0.25\"", AdapterObjective.Mix, 0.25)]
    [InlineData("Distillation=\"1\"", AdapterObjective.Distill, 1.0)]
    [InlineData("Distillation=\"0\"", AdapterObjective.NextToken, 0.0)]
    public void Objective_sets_the_weight_of_the_distillation_term_and_a_quantized_project_distills_by_default(string metadata, AdapterObjective objective, double weight)
    {
        using var project = With(Plan, Recovery.Replace("/>", metadata + " />"));
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        Assert.All(result.Spec!.Adapters, a => Assert.Equal((objective, weight, false), (a.Objective, a.Distillation, a.Control)));
    }

    [Fact]
    public void Control_true_asks_for_a_float_control_of_every_rank()
    {
        using var project = With(Plan, Recovery.Replace("/>", "Control=\"true\" />"));
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        Assert.All(result.Spec!.Adapters, a => Assert.True(a.Control));
    }

    [Theory]
    [InlineData("", AdapterInit.Zero)]
    [InlineData("Init=\"zero\"", AdapterInit.Zero)]
    [InlineData("Init=\"Error\"", AdapterInit.Error)]
    public void Init_says_whether_a_recovery_adapter_starts_from_zero_or_from_the_quantization_error(string metadata, AdapterInit init)
    {
        using var project = With(Plan, Recovery.Replace("/>", metadata + " />"));
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        Assert.All(result.Spec!.Adapters, a => Assert.Equal(metadata == "" ? AdapterInitDefault : init, a.Init));
    }

    /// <summary>What a quantized project's recovery adapter starts from without Init (specs/adapters.md).</summary>
    private static AdapterInit AdapterInitDefault => AdapterInit.Error;

    [Fact]
    public void Starting_from_the_error_without_a_plan_is_an_error_because_the_float_base_has_none()
    {
        using var project = With(Recovery.Replace("/>", "Init=\"error\" />"));
        DiagnosticAssert.Error(project.Read(), "AFM6012", project.Locate("Init="));
    }

    [Fact]
    public void A_recovery_adapter_without_a_plan_starts_from_zero()
    {
        using var project = With(Recovery);
        Assert.All(project.Read().Spec!.Adapters, a => Assert.Equal(AdapterInit.Zero, a.Init));
    }

    [Fact]
    public void Distilling_without_a_plan_is_an_error_because_the_base_is_the_float_model()
    {
        using var project = With(Recovery.Replace("/>", "Objective=\"distill\" />"));
        DiagnosticAssert.Error(project.Read(), "AFM6011", project.Locate("<Adapter"));
    }

    [Fact]
    public void A_control_without_a_plan_is_a_warning_because_the_adapter_already_trains_on_the_float_model()
    {
        using var project = With(Recovery.Replace("/>", "Control=\"true\" />"));
        var result = project.Read();
        Assert.NotNull(result.Spec);
        Assert.Equal([("AFM6009", project.Locate("<Adapter")), ("AFM6010", project.Locate("<Adapter"))],
            result.Diagnostics.Select(d => (d.Code, d.Location)));
    }
}
