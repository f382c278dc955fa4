using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

public sealed class EvalTaskTests
{
    private const string Anchor = "<EvalSet Include=\"data/eval/*.txt\" />";
    private const string Summarize = "<Adapter Include=\"summarize\" Rank=\"16\" Tokens=\"50k\" Data=\"data/summaries/*.jsonl\" />";

    private static TestProject With(params string[] items)
    {
        var project = TestProject.With(Anchor, Anchor + "\n    " + string.Join("\n    ", items));
        project.WriteFile("data/summaries/a.jsonl", "{\"prompt\":\"p\",\"response\":\"r\"}\n");
        project.WriteFile("tasks/facts.jsonl", "{\"context\":\"c\",\"choices\":[\"a\",\"b\"],\"label\":0}\n");
        project.WriteFile("tasks/facts.train.jsonl", "{\"context\":\"c\",\"choices\":[\"a\",\"b\"],\"label\":1}\n");
        project.WriteFile("tasks/summaries.jsonl", "{\"prompt\":\"p\",\"reference\":\"r\"}\n");
        return project;
    }

    [Fact]
    public void A_multiple_choice_task_is_named_for_its_file_with_harness_style_field_defaults()
    {
        using var project = With("<EvalTask Include=\"tasks/facts.jsonl\" Shots=\"2\" FewShotData=\"tasks/facts.train.jsonl\" />");
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        var task = Assert.Single(result.Spec!.EvalTasks);
        Assert.Equal(("facts", EvalTaskKind.MultipleChoice, "context", "choices", "label", 2),
            (task.Name, task.Kind, task.ContextField, task.ChoicesField, task.LabelField, task.Shots));
        Assert.Equal([Path.Combine(project.Directory, "tasks/facts.jsonl")], task.Files);
        Assert.Equal(Path.Combine(project.Directory, "tasks/facts.train.jsonl"), task.FewShotData);
    }

    [Fact]
    public void A_generate_task_reads_its_adapter_stops_and_fields()
    {
        using var project = With(Summarize,
            "<EvalTask Include=\"tasks/summaries.jsonl\" Name=\"summaries\" Kind=\"generate\" ReferenceField=\"response\" MaxTokens=\"32\" Stop=\"\\n;.\" Adapter=\"summarize\" Tolerance=\"0.05\" />");
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        var task = Assert.Single(result.Spec!.EvalTasks);
        Assert.Equal((EvalTaskKind.Generate, "response", 32, "summarize", 0.05), (task.Kind, task.ReferenceField, task.MaxTokens, task.Adapter, task.Tolerance));
        Assert.Equal(["\n", "."], task.Stop);
    }

    [Fact]
    public void A_perplexity_task_on_an_eval_set_takes_the_sets_files()
    {
        using var project = With("<EvalTask Include=\"heldout\" Kind=\"perplexity\" EvalSet=\"eval\" />");
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        var task = Assert.Single(result.Spec!.EvalTasks);
        Assert.Equal(("heldout", result.Spec.EvalSets.Single().Files), (task.Name, task.Files));
    }

    [Theory]
    [InlineData("<EvalTask Include=\"tasks/facts.jsonl\" Kind=\"cloze\" />", "AFM1351", "Kind=\"cloze\"")]
    [InlineData("<EvalTask Include=\"tasks/nothing.jsonl\" />", "AFM1352", "Include=\"tasks/nothing.jsonl\"")]
    [InlineData("<EvalTask Include=\"tasks/facts.jsonl\" Shots=\"3\" />", "AFM1353", "Shots=\"3\"")]
    [InlineData("<EvalTask Include=\"tasks/summaries.jsonl\" Kind=\"generate\" Adapter=\"sumarize\" />", "AFM1354", "Adapter=\"sumarize\"")]
    [InlineData("<EvalTask Include=\"tasks/summaries.jsonl\" Kind=\"generate\" Shots=\"1\" />", "AFM1355", "Shots=\"1\"")]
    [InlineData("<EvalTask Include=\"tasks/facts.jsonl\" Shots=\"1\" FewShotData=\"tasks/none.jsonl\" />", "AFM1356", "FewShotData=\"tasks/none.jsonl\"")]
    [InlineData("<EvalTask Include=\"heldout\" Kind=\"perplexity\" EvalSet=\"other\" />", "AFM1358", "EvalSet=\"other\"")]
    public void Each_mistake_is_an_error_at_what_the_user_wrote(string item, string code, string at)
    {
        using var project = With(Summarize, item);
        DiagnosticAssert.Error(project.Read(), code, project.Locate(at));
    }
}
