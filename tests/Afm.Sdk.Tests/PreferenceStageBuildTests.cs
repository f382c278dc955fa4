using System.Text.Json;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>Kind="reward" and Kind="dpo" stages after pretraining, built by `dotnet build` (specs/post-training.md).</summary>
[Collection(ToolchainCollection.Name)]
public sealed class PreferenceStageBuildTests
{
    private const string Items = """
            <Tokenizer Include="bpe" VocabSize="320" />
            <Corpus Include="data/corpus.jsonl" Name="stories" />
            <TrainingStage Include="core" Tokens="24k" SequenceLength="32" BatchSize="8" LearningRate="0.01" Warmup="5" />
            <TrainingStage Include="rm" Kind="reward" Data="data/pref/*.jsonl" PromptField="text"
                           Tokens="30k" SequenceLength="48" BatchSize="8" LearningRate="0.003" Warmup="5" EvalEvery="20" />
            <TrainingStage Include="align" Kind="dpo" Data="data/pref/*.jsonl" PromptField="text" RewardModel="rm" Beta="0.2"
                           Tokens="15k" SequenceLength="48" BatchSize="8" LearningRate="0.002" Warmup="5" EvalEvery="20" CheckpointEvery="5" />
        """;

    private static readonly string[] Names = ["Ada", "Bo", "Cy", "Di", "Ed", "Flo"];
    private static readonly string[] Levels = ["significantly better", "better", "slightly better", "negligibly better"];

    /// <summary>A quarter of the pairs held out (about 30), so held-out figures are not a handful of pairs.</summary>
    private static string Project() => MicroModel.Project(properties: MicroModel.Properties + "\n    <ValidationFraction>0.25</ValidationFraction>", items: Items);

    /// <summary>
    /// Bank notifications; the chosen summary has the right verb, amount and name, the rejected one says money was sent,
    /// to another name: learnable by the micro model in tens of steps without copying from the prompt.
    /// </summary>
    private static string Pairs(int count) => string.Join("\n", Enumerable.Range(0, count).Select(i =>
    {
        var (name, wrong, amount) = (Names[i % Names.Length], Names[(i + 1 + i / 6) % Names.Length], 5 + i * 7 % 90);
        if (wrong == name) wrong = Names[(i + 2) % Names.Length];
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["text"] = $"Bank: You received {amount}.00 from {name}. ",
            ["chosen"] = $"Got {amount} from {name}.",
            ["rejected"] = $"Sent {amount} to {wrong}.",
            ["level"] = Levels[i % 4],
        });
    }));

    [Fact]
    public void Reward_and_dpo_stages_build_report_held_out_preferences_and_an_unchanged_build_is_up_to_date()
    {
        using var project = ModelProject.Create(Project());
        project.WriteFile("data/pref/bank.jsonl", Pairs(120));

        var build = project.Build();

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("stage rm (reward): 120 preference pairs", build.Output);
        using var report = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")).Json("reports/training.json");
        var stages = report.RootElement.GetProperty("stages");
        var rm = stages[1].GetProperty("preference");
        var align = stages[2].GetProperty("preference");
        Assert.Equal("reward", rm.GetProperty("kind").GetString());
        Assert.True(rm.GetProperty("heldOutPairs").GetInt32() >= 20, rm.ToString());
        Assert.True(rm.GetProperty("accuracy").GetDouble() >= 0.8, rm.ToString());
        Assert.NotEmpty(rm.GetProperty("byLevel").EnumerateArray());
        Assert.Equal("dpo", align.GetProperty("kind").GetString());
        Assert.Equal("rm", align.GetProperty("rewardModel").GetString());
        Assert.True(align.GetProperty("meanMargin").GetDouble() > 0, align.ToString());
        Assert.Contains("## align (dpo)", System.Text.Encoding.UTF8.GetString(ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")).Entries["reports/post-training.md"]));
        Assert.True(project.Build("-question").ExitCode == 0, "an unchanged project with preference stages is up to date");
    }

    [Fact]
    public void A_build_killed_in_a_dpo_stage_resumes_and_produces_byte_identical_weights()
    {
        using var reference = ModelProject.Create(Project());
        reference.WriteFile("data/pref/bank.jsonl", Pairs(120));
        var uninterrupted = reference.Build();
        Assert.True(uninterrupted.ExitCode == 0, uninterrupted.ToString());

        using var project = ModelProject.Create(Project());
        project.WriteFile("data/pref/bank.jsonl", Pairs(120));
        KillResumeTests.BuildUntilMidStageCheckpointThenKill(project, "align");

        var resumed = project.Build();

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Matches(@"train align: resuming at step \d+/", resumed.Output);
        Assert.Equal(KillResumeTests.Sha256(KillResumeTests.TrainedWeights(reference)), KillResumeTests.Sha256(KillResumeTests.TrainedWeights(project)));
    }

    [Fact]
    public void A_bad_preference_line_is_reported_at_its_file_and_line()
    {
        using var project = ModelProject.Create(Project());
        project.WriteFile("data/pref/bank.jsonl", Pairs(3) + "\n{\"text\": \"x\", \"chosen\": \"a\", \"rejected\": \"b\", \"level\": \"way better\"}\n");

        var build = project.Build();

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains($"{project.PathOf("data/pref/bank.jsonl")}(4,1): error AFM2302", build.Output);
    }

    [Fact]
    public void An_rl_stage_with_one_sample_per_prompt_is_refused_at_Samples_before_anything_runs()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items.Replace("Kind=\"dpo\"", "Kind=\"rl\" Samples=\"1\"")));
        project.WriteFile("data/pref/bank.jsonl", Pairs(10));

        var build = project.Build();

        Assert.NotEqual(0, build.ExitCode);
        Assert.Matches(@"micro\.afmproj\(\d+,\d+\): error AFM1448: Samples of TrainingStage 'align' is 1", build.Output);
        Assert.DoesNotContain("train core", build.Output);
    }

    [Fact]
    public void Rejection_sampling_and_rl_stages_build_report_their_rewards_and_an_unchanged_build_is_up_to_date()
    {
        const string sampling = """
                <TrainingStage Include="itec" Kind="rejection-sampling" Committee="core;align" Samples="2" RewardModel="rm" Data="data/pref/*.jsonl"
                               PromptField="text" Tokens="8k" SequenceLength="48" BatchSize="8" LearningRate="0.002" Warmup="2" />
                <TrainingStage Include="mdloo" Kind="rl" RewardModel="rm" Samples="4" PolicySteps="2" Data="data/pref/*.jsonl"
                               PromptField="text" Tokens="8k" SequenceLength="48" BatchSize="8" LearningRate="0.002" Warmup="2" />
            """;
        using var project = ModelProject.Create(MicroModel.Project(properties: MicroModel.Properties + "\n    <ValidationFraction>0.25</ValidationFraction>",
            items: Items + sampling));
        project.WriteFile("data/pref/bank.jsonl", Pairs(120));

        var build = project.Build();

        Assert.True(build.ExitCode == 0, build.ToString());
        using var report = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")).Json("reports/training.json");
        var stages = report.RootElement.GetProperty("stages");
        var itec = stages[3].GetProperty("sampling");
        Assert.Equal("rejection-sampling", itec.GetProperty("kind").GetString());
        Assert.Equal(["core", "align"], itec.GetProperty("committee").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        Assert.True(itec.GetProperty("meanKeptReward").GetDouble() >= itec.GetProperty("committee").EnumerateArray().Max(m => m.GetProperty("meanBestReward").GetDouble()), itec.ToString());
        var mdloo = stages[4].GetProperty("sampling");
        Assert.Equal(("rl", "rm"), (mdloo.GetProperty("kind").GetString(), mdloo.GetProperty("rewardModel").GetString()));
        // The final validation loss is the last language-model stage's (core's), not rl's minus-reward curve.
        Assert.Equal(stages[0].GetProperty("finalValidationLoss").GetDouble(), report.RootElement.GetProperty("finalValidationLoss").GetDouble());
        var markdown = System.Text.Encoding.UTF8.GetString(ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")).Entries["reports/post-training.md"]);
        Assert.Contains("## itec (rejection-sampling)", markdown);
        Assert.Contains("## mdloo (rl)", markdown);
        Assert.True(project.Build("-question").ExitCode == 0, "an unchanged project with rejection-sampling and rl stages is up to date");
    }
}
