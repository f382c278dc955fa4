using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>Kind="reward" and Kind="dpo" stages (specs/post-training.md): preference pairs named by Data.</summary>
public sealed class PreferenceStageTests
{
    private const string Context = "<TrainingStage Include=\"context\" Tokens=\"300k\" SequenceLength=\"1024\" RopeBase=\"6315089\" />";
    private const string Core = "<TrainingStage Include=\"core\" Tokens=\"4M\" SequenceLength=\"256\" LearningRate=\"0.01\" Mix=\"web=3;code=1\" />";
    private const string RewardStage = "<TrainingStage Include=\"rm\" Kind=\"reward\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" />";

    private static TestProject With(params string[] stages)
    {
        // The stages replace the default project's "context" stage: TrainingStages[0] is "core", then these.
        var project = TestProject.With(Context, string.Join("\n", stages));
        project.WriteFile("data/pref/a.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"level\": \"better\"}\n");
        return project;
    }

    [Fact]
    public void A_reward_stage_reads_its_Data_and_the_documented_defaults()
    {
        using var project = With(RewardStage);
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var rm = result.Spec!.TrainingStages[1];
        Assert.Equal(StageKind.Reward, rm.Kind);
        Assert.True(rm.IsPreference);
        Assert.Equal(["a.jsonl"], rm.Data.Select(Path.GetFileName));
        Assert.Empty(rm.Mix);
        Assert.Equal(new PreferenceStageSpec { SoftLabels = true, GradeWeight = 0.1, Loss = PreferenceLoss.Dpo, Beta = 0.1 }, rm.Preference);
    }

    [Fact]
    public void A_dpo_stage_reads_Loss_Beta_and_the_reward_model_it_names()
    {
        using var project = With(RewardStage,
            "<TrainingStage Include=\"align\" Kind=\"dpo\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" Loss=\"ipo\" Beta=\"0.5\" RewardModel=\"rm\" />");
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var dpo = result.Spec!.TrainingStages[2];
        Assert.Equal("align", dpo.Name);
        Assert.Equal((StageKind.Dpo, PreferenceLoss.Ipo, 0.5, "rm"), (dpo.Kind, dpo.Preference!.Loss, dpo.Preference.Beta, dpo.Preference.RewardModel));
    }

    [Fact]
    public void Language_model_stages_have_no_preference_settings_and_the_quantizer_calibrates_on_the_last_of_them()
    {
        using var project = With(RewardStage);
        var spec = project.Read().Spec!;
        Assert.Null(spec.TrainingStages[0].Preference);
        Assert.Equal("core", spec.CalibrationStage!.Name);
    }

    private const string Sampling = "<TrainingStage Include=\"rs\" Kind=\"rejection-sampling\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" ";

    [Fact]
    public void A_rejection_sampling_stage_reads_its_committee_reward_model_and_the_documented_defaults()
    {
        using var project = With(RewardStage, Sampling + "RewardModel=\"rm\" Committee=\"core\" Samples=\"8\" />");
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var rs = result.Spec!.TrainingStages[2];
        Assert.Equal(StageKind.RejectionSampling, rs.Kind);
        Assert.True(rs.IsPreference);
        Assert.Equal(("rm", 8, 1.0), (rs.Preference!.RewardModel, rs.Preference.Samples, rs.Preference.Temperature));
        Assert.Equal(["core"], rs.Preference.Committee!);
        Assert.Null(rs.Preference.PolicySteps);
    }

    [Fact]
    public void A_rejection_sampling_stage_without_RewardModel_is_AFM1445_at_the_stage()
    {
        using var project = With(RewardStage, Sampling + "/>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1445", project.Locate("<TrainingStage Include=\"rs\""));
    }

    [Theory]
    [InlineData("rm")]
    [InlineData("later")]
    public void A_Committee_member_that_is_no_earlier_model_stage_is_AFM1446_at_Committee(string member)
    {
        using var project = With(RewardStage, Sampling + $"RewardModel=\"rm\" Committee=\"core;{member}\" />",
            "<TrainingStage Include=\"later\" Kind=\"sft\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" />");
        var diagnostic = DiagnosticAssert.SingleError(project.Read(), "AFM1446", project.Locate("Committee="));
        Assert.Contains($"'{member}'", diagnostic.Message);
    }

    [Fact]
    public void A_Committee_member_named_twice_is_AFM1446_at_Committee()
    {
        using var project = With(RewardStage, Sampling + "RewardModel=\"rm\" Committee=\"core; core\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1446", project.Locate("Committee="));
    }

    [Fact]
    public void A_Committee_member_from_another_project_is_AFM1447_at_Committee()
    {
        using var project = With(RewardStage, Sampling + "RewardModel=\"rm\" Committee=\"core;../big/big.afmproj\" />");
        var diagnostic = DiagnosticAssert.SingleError(project.Read(), "AFM1447", project.Locate("Committee="));
        Assert.Contains("not built", diagnostic.Message);
    }

    [Fact]
    public void Committee_on_a_dpo_stage_is_AFM1414_at_it()
    {
        using var project = With(RewardStage, "<TrainingStage Include=\"d\" Kind=\"dpo\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" Committee=\"core\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate("Committee="));
    }

    private const string Rl = "<TrainingStage Include=\"rl\" Kind=\"rl\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" ";

    [Fact]
    public void An_rl_stage_reads_its_reward_model_and_the_documented_defaults()
    {
        using var project = With(RewardStage, Rl + "RewardModel=\"rm\" Beta=\"0.05\" PolicySteps=\"2\" />");
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var rl = result.Spec!.TrainingStages[2];
        Assert.Equal(StageKind.Rl, rl.Kind);
        Assert.True(rl.IsPreference);
        var p = rl.Preference!;
        Assert.Equal(("rm", 0.05, 4, 1.0, 2, 1.0), (p.RewardModel, p.Beta, p.Samples, p.Temperature, p.PolicySteps, p.TrustRegion));
        Assert.Null(p.Committee);
    }

    [Fact]
    public void An_rl_stage_without_RewardModel_is_AFM1445_at_the_stage()
    {
        using var project = With(RewardStage, Rl + "/>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1445", project.Locate("<TrainingStage Include=\"rl\""));
    }

    [Fact]
    public void An_rl_stage_with_one_sample_per_prompt_is_AFM1448_at_Samples()
    {
        using var project = With(RewardStage, Rl + "RewardModel=\"rm\" Samples=\"1\" />");
        var diagnostic = DiagnosticAssert.SingleError(project.Read(), "AFM1448", project.Locate("Samples="));
        Assert.Contains("leave-one-out", diagnostic.Message);
    }

    [Theory]
    [InlineData("Committee=\"core\"", "Committee=")]
    [InlineData("Loss=\"ipo\"", "Loss=")]
    public void Metadata_of_another_post_training_kind_on_an_rl_stage_is_AFM1414_at_it(string metadata, string at)
    {
        using var project = With(RewardStage, Rl + $"RewardModel=\"rm\" {metadata} />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate(at));
    }

    [Fact]
    public void A_preference_stage_without_Data_is_AFM1441_at_the_stage()
    {
        using var project = With("<TrainingStage Include=\"rm\" Kind=\"reward\" Tokens=\"100k\" SequenceLength=\"128\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1441", project.Locate("<TrainingStage Include=\"rm\""));
    }

    [Theory]
    [InlineData("mean", RewardReadout.Mean)]
    [InlineData("Likelihood", RewardReadout.Likelihood)]
    [InlineData("last", RewardReadout.Last)]
    public void A_reward_stage_reads_its_Readout(string text, RewardReadout expected)
    {
        using var project = With(RewardStage.Replace(" />", $" Readout=\"{text}\" />"));
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        Assert.Equal(expected, result.Spec!.TrainingStages[1].Preference!.Readout);
    }

    [Fact]
    public void A_reward_stage_without_Readout_reads_likelihood()
    {
        using var project = With(RewardStage);
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        Assert.Equal(RewardReadout.Likelihood, result.Spec!.TrainingStages[1].Preference!.Readout);
        Assert.Equal(RewardReadout.Likelihood, new PreferenceStageSpec().Readout);
    }

    [Fact]
    public void Readout_last_is_left_out_of_the_stage_JSON_so_fingerprints_from_before_readouts_stand_and_the_default_is_written()
    {
        using var last = With(RewardStage.Replace(" />", " Readout=\"last\" />"));
        Assert.DoesNotContain("Readout", System.Text.Json.JsonSerializer.Serialize(last.Read().Spec!.TrainingStages[1]));
        using var byDefault = With(RewardStage);
        Assert.Contains("Readout", System.Text.Json.JsonSerializer.Serialize(byDefault.Read().Spec!.TrainingStages[1]));
    }

    [Fact]
    public void An_unknown_Readout_is_AFM1693_at_Readout()
    {
        using var project = With(RewardStage.Replace(" />", " Readout=\"max\" />"));
        DiagnosticAssert.SingleError(project.Read(), "AFM1693", project.Locate("Readout="));
    }

    [Fact]
    public void Readout_on_a_dpo_stage_is_AFM1414_at_Readout()
    {
        using var project = With("<TrainingStage Include=\"d\" Kind=\"dpo\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" Readout=\"mean\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate("Readout="));
    }

    [Fact]
    public void MixShare_on_a_dpo_stage_is_AFM1414_at_MixShare()
    {
        using var project = With("<TrainingStage Include=\"d\" Kind=\"dpo\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" MixShare=\"0.25\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate("MixShare="));
    }

    [Fact]
    public void An_unknown_Loss_is_AFM1442_at_Loss()
    {
        using var project = With("<TrainingStage Include=\"d\" Kind=\"dpo\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" Loss=\"kto\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1442", project.Locate("Loss="));
    }

    [Fact]
    public void A_RewardModel_that_names_no_earlier_reward_stage_is_AFM1443_at_RewardModel()
    {
        using var project = With(
            "<TrainingStage Include=\"d\" Kind=\"dpo\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" RewardModel=\"rm\" />", RewardStage);
        DiagnosticAssert.SingleError(project.Read(), "AFM1443", project.Locate("RewardModel="));
    }

    [Fact]
    public void A_preference_stage_first_without_a_BaseModel_is_AFM1444()
    {
        using var project = TestProject.With(Core, RewardStage);
        project.WriteFile("data/pref/a.jsonl", "{}\n");
        DiagnosticAssert.SingleError(project.Read(), "AFM1444", project.Locate("<TrainingStage Include=\"rm\""));
    }

    [Theory]
    [InlineData("Beta=\"0.1\"", "Beta=")]
    [InlineData("SoftLabels=\"false\"", "SoftLabels=")]
    public void Metadata_of_another_preference_kind_is_AFM1414_at_it(string metadata, string at)
    {
        var stage = metadata.StartsWith("Beta", StringComparison.Ordinal)
            ? RewardStage.Replace(" />", $" {metadata} />")
            : $"<TrainingStage Include=\"d\" Kind=\"dpo\" Tokens=\"100k\" SequenceLength=\"128\" Data=\"data/pref/*.jsonl\" {metadata} />";
        using var project = With(stage);
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate(at));
    }

    [Fact]
    public void ResponseField_on_a_reward_stage_is_AFM1414()
    {
        using var project = With(RewardStage.Replace(" />", " ResponseField=\"answer\" />"));
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate("ResponseField="));
    }

    [Fact]
    public void Precision_on_a_reward_stage_is_AFM1414_at_it()
    {
        using var project = With(RewardStage.Replace(" />", " Precision=\"auto\" />"));
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate("Precision="));
    }
}
