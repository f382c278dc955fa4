using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>Precision on TrainingStage and Adapter items (specs/afmproj.md, "Precision").</summary>
public sealed class PrecisionMetadataTests
{
    private const string Stage = "Mix=\"web=3;code=1\"";
    private const string Anchor = "<EvalSet Include=\"data/eval/*.txt\" />";
    private const string Machine = "<KvHeads>2</KvHeads>";

    private static TestProject WithStage(string metadata, bool machine = false)
    {
        var xml = TestProject.ValidXml.Replace(Stage, Stage + " " + metadata);
        if (machine) xml = xml.Replace(Machine, Machine + "\n    <AfmDeterminism>machine</AfmDeterminism>");
        return new TestProject(xml);
    }

    [Fact]
    public void Stages_and_adapters_train_in_fp32_unless_they_say_otherwise_and_fp32_is_not_written_into_the_spec()
    {
        using var project = TestProject.With(Anchor, Anchor + "\n    <Adapter Include=\"recovery\" Kind=\"accuracy-recovery\" Ranks=\"8\" Tokens=\"200k\" />");
        var spec = project.Read().Spec!;
        Assert.All(spec.TrainingStages, s => Assert.Equal(TrainingPrecision.Fp32, s.Precision));
        Assert.Equal(TrainingPrecision.Fp32, Assert.Single(spec.Adapters).Precision);
        // Fingerprints of projects written before Precision existed stay the same.
        Assert.DoesNotContain("precision", SpecJson.Serialize(spec), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("Precision=\"bf16-mixed\"", TrainingPrecision.Bf16Mixed)]
    [InlineData("Precision=\"AUTO\"", TrainingPrecision.Auto)]
    [InlineData("Precision=\"fp32\"", TrainingPrecision.Fp32)]
    public void Machine_determinism_accepts_every_precision(string metadata, TrainingPrecision expected)
    {
        using var project = WithStage(metadata, machine: true);
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        Assert.Equal(expected, result.Spec!.TrainingStages[0].Precision);
        Assert.Equal(TrainingPrecision.Fp32, result.Spec.TrainingStages[1].Precision);
    }

    [Fact]
    public void The_spec_names_a_declared_precision_as_the_project_writes_it()
    {
        using var project = WithStage("Precision=\"bf16-mixed\"", machine: true);
        Assert.Contains("\"precision\": \"bf16-mixed\"", SpecJson.Serialize(project.Read().Spec!), StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_is_accepted_under_portable_determinism()
    {
        using var project = WithStage("Precision=\"auto\"");
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        Assert.Equal((DeterminismMode.Portable, TrainingPrecision.Auto), (result.Spec!.Determinism, result.Spec.TrainingStages[0].Precision));
    }

    [Fact]
    public void An_unknown_precision_is_AFM1633_at_Precision()
    {
        using var project = WithStage("Precision=\"fp16\"", machine: true);
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1633", project.Locate("Precision="));
        Assert.Contains("bf16-mixed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bf16_mixed_under_portable_determinism_is_AFM1634_at_Precision()
    {
        using var project = WithStage("Precision=\"bf16-mixed\"");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1634", project.Locate("Precision="));
        Assert.Contains("Precision=\"auto\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_rank_of_a_recovery_adapter_takes_its_precision_and_a_wrong_one_is_reported_once()
    {
        using (var good = TestProject.With(Anchor, Anchor + "\n    <Adapter Include=\"recovery\" Kind=\"accuracy-recovery\" Ranks=\"8;16\" Tokens=\"200k\" Precision=\"auto\" />"))
            Assert.All(good.Read().Spec!.Adapters, a => Assert.Equal(TrainingPrecision.Auto, a.Precision));
        using var bad = TestProject.With(Anchor, Anchor + "\n    <Adapter Include=\"recovery\" Kind=\"accuracy-recovery\" Ranks=\"8;16\" Tokens=\"200k\" Precision=\"bf16-mixed\" />");
        DiagnosticAssert.SingleError(bad.Read(), "AFM1634", bad.Locate("Precision="));
    }

    [Fact]
    public void A_feature_adapter_reads_Precision()
    {
        using var project = TestProject.With(Anchor, Anchor + "\n    <Adapter Include=\"summarize\" Rank=\"16\" Tokens=\"50k\" Data=\"data/summaries/*.jsonl\" Precision=\"half\" />");
        project.WriteFile("data/summaries/a.jsonl", "{\"prompt\":\"p\",\"response\":\"r\"}\n");
        DiagnosticAssert.SingleError(project.Read(), "AFM1633", project.Locate("Precision="));
    }
}
