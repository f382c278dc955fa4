using System.Text.Json;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>A Kind="sft" stage after pretraining, on notification -> summary pairs (the sample generator's format).</summary>
[Collection(ToolchainCollection.Name)]
public sealed class SftStageTests
{
    private const string Items = """
            <Tokenizer Include="bpe" VocabSize="320" />
            <Corpus Include="data/corpus.jsonl" Name="stories" />
            <TrainingStage Include="core" Tokens="24k" SequenceLength="32" BatchSize="8" LearningRate="0.01" Warmup="5" />
            <TrainingStage Include="summaries" Kind="sft" Data="data/sft/*.jsonl" PromptField="text" ResponseField="summary"
                           Tokens="24k" SequenceLength="64" BatchSize="8" LearningRate="0.005" Warmup="5" EvalEvery="15" />
        """;

    private static readonly string[] Names = ["Ada", "Bo", "Cy", "Di", "Ed", "Flo"];
    private static readonly string[] Things = ["apple", "kite", "book", "lamp", "boat"];
    private static readonly string[] Days = ["Monday", "Tuesday", "Friday"];

    /// <summary>Notifications whose summary keeps who/what/when, like the sample's notifications.jsonl.</summary>
    private static string Notifications(int count) => string.Join("\n", Enumerable.Range(0, count).Select(i =>
    {
        var (name, item, day) = (Names[i % Names.Length], Things[i / 6 % Things.Length], Days[i / 30 % Days.Length]);
        return JsonSerializer.Serialize(new
        {
            text = $"Shop: Good news! Your order #{1000 + i * 37 % 9000} with {item} for {name} has shipped and should arrive on {day}. Track it in the app.",
            summary = $"Order with {item} for {name} arrives {day}.",
        });
    }));

    [Fact]
    public void An_sft_stage_after_pretraining_builds_and_lowers_the_response_loss()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        project.WriteFile("data/sft/notifications.jsonl", Notifications(90));

        var build = project.Build();

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("loss on response tokens only", build.Output);
        using var report = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")).Json("reports/training.json");
        var curve = report.RootElement.GetProperty("stages")[1].GetProperty("validationCurve").EnumerateArray()
            .Select(p => p.GetProperty("loss").GetDouble()).ToList();
        Assert.True(curve[^1] < curve[0] - 0.5, $"response loss before the sft stage {curve[0]}, after {curve[^1]}");
    }

    [Fact]
    public void Editing_an_sft_data_file_reruns_data_and_train_and_an_unchanged_build_is_up_to_date()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items.Replace("Tokens=\"24k\" SequenceLength=\"64\"", "Tokens=\"4k\" SequenceLength=\"64\"")));
        project.WriteFile("data/sft/notifications.jsonl", Notifications(40));
        Assert.Equal(0, project.Build().ExitCode);
        Assert.True(project.Build("-question").ExitCode == 0, "an unchanged sft project is up to date");

        project.WriteFile("data/sft/notifications.jsonl", Notifications(41));
        var question = project.Build("-question");
        var rebuild = project.Build();

        Assert.NotEqual(0, question.ExitCode);
        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
        Assert.Contains("stage summaries (sft): 41 examples", rebuild.Output);
        Assert.Contains("train summaries:", rebuild.Output);
    }

    [Fact]
    public void A_new_file_matching_Data_is_trained_on_in_the_next_build()
    {
        // The Data wildcard is expanded once, by MSBuild: the new file changes the snapshot, hence the spec, so the
        // compiler reads it too (it used to re-run the data stage on the old spec's list and leave the file out).
        using var project = ModelProject.Create(MicroModel.Project(items: Items.Replace("Tokens=\"24k\" SequenceLength=\"64\"", "Tokens=\"4k\" SequenceLength=\"64\"")));
        project.WriteFile("data/sft/notifications.jsonl", Notifications(40));
        Assert.Equal(0, project.Build().ExitCode);

        project.WriteFile("data/sft/more.jsonl", Notifications(7));
        var rebuild = project.Build();

        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
        Assert.Contains("stage summaries (sft): 47 examples", rebuild.Output);
        Assert.True(project.Build("-question").ExitCode == 0, "up to date after the rebuild");
    }

    [Fact]
    public void A_Data_wildcard_that_differs_from_the_disk_only_in_case_is_refused_at_Data()
    {
        // MSBuild's matcher is case-sensitive here (Linux), and the compiler takes its expansion: both see no file.
        using var project = ModelProject.Create(MicroModel.Project(items: Items.Replace("data/sft/*.jsonl", "data/SFT/*.jsonl")));
        project.WriteFile("data/sft/notifications.jsonl", Notifications(40));

        var build = project.Build();

        Assert.NotEqual(0, build.ExitCode);
        Assert.Matches(@"micro\.afmproj\(\d+,\d+\): error AFM1413: Data of TrainingStage 'summaries' is 'data/SFT/\*\.jsonl', which matches no file", build.Output);
        Assert.DoesNotContain("train core", build.Output);
    }

    [Fact]
    public void A_line_without_the_response_field_is_AFM3001_at_its_file_and_line()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        project.WriteFile("data/sft/notifications.jsonl", Notifications(3) + "\n{\"text\": \"Bank: you received 5.00.\"}\n");

        var build = project.Build();

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains($"{project.PathOf("data/sft/notifications.jsonl")}(4,1): error AFM3001", build.Output);
    }
}
