using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>Kind="sft" stages: prompt/response JSON lines named by Data, loss on the response only.</summary>
public sealed class SftStageTests
{
    private const string Context = "<TrainingStage Include=\"context\" Tokens=\"300k\" SequenceLength=\"1024\" RopeBase=\"6315089\" />";

    private static TestProject WithSft(string stage, bool writeData = true)
    {
        var project = TestProject.With(Context, stage);
        if (writeData)
        {
            project.WriteFile("data/sft/b.jsonl", "{\"prompt\": \"2+2=\", \"response\": \"4\"}\n");
            project.WriteFile("data/sft/a.jsonl", "{\"prompt\": \"1+1=\", \"response\": \"2\"}\n");
        }
        return project;
    }

    [Fact]
    public void An_sft_stage_reads_its_Data_files_sorted_with_default_fields()
    {
        using var project = WithSft("<TrainingStage Include=\"sft\" Kind=\"sft\" Tokens=\"100k\" SequenceLength=\"256\" Data=\"data/sft/*.jsonl\" />");
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var sft = result.Spec!.TrainingStages[1];
        Assert.Equal(StageKind.Sft, sft.Kind);
        Assert.Equal(["a.jsonl", "b.jsonl"], sft.Data.Select(Path.GetFileName));
        Assert.All(sft.Data, f => Assert.True(Path.IsPathRooted(f)));
        Assert.Equal(("prompt", "response"), (sft.PromptField, sft.ResponseField));
        Assert.Empty(sft.Mix);
    }

    [Fact]
    public void PromptField_and_ResponseField_name_the_JSON_fields()
    {
        using var project = WithSft("<TrainingStage Include=\"sft\" Kind=\"sft\" Tokens=\"100k\" SequenceLength=\"256\" Data=\"data/sft/a.jsonl\" PromptField=\"text\" ResponseField=\"summary\" />");
        var sft = project.Read().Spec!.TrainingStages[1];
        Assert.Equal(("text", "summary"), (sft.PromptField, sft.ResponseField));
        Assert.Single(sft.Data);
    }

    [Fact]
    public void Pretrain_stages_have_no_sft_data()
    {
        using var project = new TestProject();
        Assert.All(project.Read().Spec!.TrainingStages, s => Assert.Empty(s.Data));
    }

    [Fact]
    public void An_sft_stage_without_Data_is_AFM1412_at_the_stage_element()
    {
        using var project = WithSft("<TrainingStage Include=\"sft\" Kind=\"sft\" Tokens=\"100k\" SequenceLength=\"256\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1412", project.Locate("<TrainingStage Include=\"sft\""));
    }

    [Fact]
    public void Data_that_matches_no_file_is_AFM1413_at_Data()
    {
        using var project = WithSft("<TrainingStage Include=\"sft\" Kind=\"sft\" Tokens=\"100k\" SequenceLength=\"256\" Data=\"data/stf/*.jsonl\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1413", project.Locate("Data="));
    }

    [Fact]
    public void Data_on_a_pretrain_stage_is_AFM1414_at_Data()
    {
        using var project = WithSft("<TrainingStage Include=\"more\" Tokens=\"100k\" SequenceLength=\"256\" Data=\"data/sft/*.jsonl\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate("Data="));
    }

    private const string MixedSft = "<TrainingStage Include=\"sft\" Kind=\"sft\" Tokens=\"100k\" SequenceLength=\"256\" Data=\"data/sft/*.jsonl\" ";

    [Fact]
    public void MixShare_mixes_the_named_corpora_into_the_batches_with_the_pretrain_Mix_semantics()
    {
        using var project = WithSft(MixedSft + "Mix=\"web=3;code=1\" MixShare=\"0.25\" />");
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var sft = result.Spec!.TrainingStages[1];
        Assert.Equal([new MixEntry("code", 0.25), new MixEntry("web", 0.75)], sft.Mix);
        Assert.Equal((0.25, 2), (sft.MixShare, sft.MixSequencesPerBatch));
        // The data stage packs the mix as a pretrain stage with every step's share of sequences.
        var packed = result.Spec.PackedStages.Select(s => s.Name).ToList();
        Assert.Equal(["core", "sft", "sft+mix"], packed);
        var mix = sft.MixData!;
        Assert.Equal((StageKind.Pretrain, 2, sft.Steps * 2 * 256), (mix.Kind, mix.BatchSize, mix.Tokens));
        Assert.Equal(sft.Mix, mix.Mix);
    }

    [Fact]
    public void MixShare_without_Mix_samples_every_corpus_by_size_as_a_pretrain_stage_does()
    {
        using var project = WithSft(MixedSft + "MixShare=\"0.5\" />");
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var mix = result.Spec!.TrainingStages[1].Mix;
        Assert.Equal(["code", "web"], mix.Select(m => m.Corpus));
        Assert.Equal(1.0, mix.Sum(m => m.Weight), 12);
        Assert.Equal(4, result.Spec.TrainingStages[1].MixSequencesPerBatch);
    }

    [Fact]
    public void An_sft_stage_without_MixShare_mixes_nothing_and_keeps_its_fingerprint_facts()
    {
        using var project = WithSft(MixedSft + "/>");
        var sft = project.Read().Spec!.TrainingStages[1];
        Assert.Empty(sft.Mix);
        Assert.Null(sft.MixData);
        Assert.DoesNotContain("MixShare", System.Text.Json.JsonSerializer.Serialize(sft));
    }

    [Fact]
    public void Mix_on_an_sft_stage_without_MixShare_is_AFM1690_at_Mix()
    {
        using var project = WithSft(MixedSft + "Mix=\"web=1\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1690", project.Locate("Mix=\"web=1\""));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("1.5")]
    public void A_MixShare_outside_0_to_1_is_AFM1003_at_MixShare(string share)
    {
        using var project = WithSft(MixedSft + $"MixShare=\"{share}\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1003", project.Locate($"MixShare=\"{share}\""));
    }

    [Theory]
    [InlineData("0.05")] // 0.4 of 8 sequences: none from the mix
    [InlineData("0.95")] // 7.6 of 8: none from Data
    public void A_MixShare_that_rounds_to_no_sequence_of_either_part_is_AFM1691_at_MixShare(string share)
    {
        using var project = WithSft(MixedSft + $"MixShare=\"{share}\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1691", project.Locate($"MixShare=\"{share}\""));
    }

    [Fact]
    public void A_Mix_of_an_sft_stage_naming_an_unknown_corpus_is_AFM1406_as_on_a_pretrain_stage()
    {
        using var project = WithSft(MixedSft + "Mix=\"books=1\" MixShare=\"0.25\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1406", project.Locate("Mix=\"books=1\""));
    }

    [Fact]
    public void MixShare_on_a_pretrain_stage_is_AFM1414_at_MixShare()
    {
        using var project = WithSft("<TrainingStage Include=\"more\" Tokens=\"100k\" SequenceLength=\"256\" MixShare=\"0.25\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate("MixShare="));
    }

    [Fact]
    public void An_sft_sequence_length_above_MaxSequenceLength_is_AFM1404_at_SequenceLength()
    {
        using var project = WithSft("<TrainingStage Include=\"sft\" Kind=\"sft\" Tokens=\"100k\" SequenceLength=\"2048\" Data=\"data/sft/*.jsonl\" />");
        var xml = project.Xml.Replace("<KvHeads>2</KvHeads>", "<KvHeads>2</KvHeads>\n    <MaxSequenceLength>1024</MaxSequenceLength>");
        using var limited = new TestProject(xml);
        limited.WriteFile("data/sft/a.jsonl", "{\"prompt\": \"1+1=\", \"response\": \"2\"}\n");
        DiagnosticAssert.SingleError(limited.Read(), "AFM1404", limited.Locate("SequenceLength=\"2048\""));
    }
}
