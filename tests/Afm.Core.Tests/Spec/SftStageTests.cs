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

    [Fact]
    public void Mix_on_an_sft_stage_is_AFM1414_at_Mix()
    {
        using var project = WithSft("<TrainingStage Include=\"sft\" Kind=\"sft\" Tokens=\"100k\" SequenceLength=\"256\" Data=\"data/sft/*.jsonl\" Mix=\"web=1\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1414", project.Locate("Mix=\"web=1\""));
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
