using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// A quantized micro model with a recovery adapter and a feature adapter, evaluated on a multiple-choice task, a generate
/// task with the feature adapter and bits per byte on its EvalSet: the report, incrementality and the baseline gate.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class EvaluateStageTests
{
    private const string Project = $"""
        <Project Sdk="Afm.Sdk">
          <PropertyGroup>
        {MicroModel.Properties}
            <AfmEvaluationBaseline>baseline/evaluation.json</AfmEvaluationBaseline>
          </PropertyGroup>
          <ItemGroup>
        {MicroModel.Items}
            <QuantizationPlan Include="device" Bits="4" LowBits="2" GroupSize="16" TargetBitsPerWeight="3" CalibrationSequences="8" />
            <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="4" Tokens="4k" BatchSize="8" />
            <Adapter Include="summarize" Rank="4" Data="data/sft/*.jsonl" PromptField="text" ResponseField="summary" Tokens="4k" SequenceLength="48" />
            <EvalTask Include="tasks/colors.jsonl" Shots="1" FewShotData="tasks/colors.train.jsonl" />
            <EvalTask Include="tasks/summaries.jsonl" Kind="generate" ReferenceField="summary" PromptField="text" MaxTokens="8" Stop="\n" Adapter="summarize" />
            <EvalTask Include="heldout" Kind="perplexity" EvalSet="eval" />
          </ItemGroup>
        </Project>
        """;

    private static string Colors(int count, int offset) => string.Join("\n", Enumerable.Range(offset, count).Select(i =>
    {
        string[] names = ["Ada", "Bo", "Cy", "Di"], things = ["apple", "kite", "book", "lamp"], colors = ["red", "blue", "green", "gold"];
        string name = names[i % 4], thing = things[i / 4 % 4], color = colors[(i * 3 + 1) % 4];
        return JsonSerializer.Serialize(new { context = $"{name} has a {color} {thing}. The {thing} of {name} is", choices = colors, label = Array.IndexOf(colors, color) });
    })) + "\n";

    private static string Notifications(int count) => string.Join("\n", Enumerable.Range(0, count).Select(i => JsonSerializer.Serialize(new
    {
        text = $"Shop: your order #{1000 + i * 37 % 9000} with item {i % 7} has shipped and arrives on day {i % 5}.",
        summary = $"Order {i % 7} arrives day {i % 5}.",
    }))) + "\n";

    private static ModelProject Create()
    {
        var project = ModelProject.Create(Project);
        project.WriteFile("data/corpus.jsonl", MicroCorpus.Jsonl(300, 1));
        project.WriteFile("data/eval.jsonl", MicroCorpus.HeldOutJsonl(20, 2));
        project.WriteFile("data/sft/notifications.jsonl", Notifications(40));
        project.WriteFile("tasks/colors.jsonl", Colors(12, 0));
        project.WriteFile("tasks/colors.train.jsonl", Colors(8, 100));
        project.WriteFile("tasks/summaries.jsonl", Notifications(4));
        return project;
    }

    [Fact]
    public void Every_task_is_reported_for_every_variant_an_edited_task_reruns_only_evaluation_and_the_gate_fails_a_drop()
    {
        using var project = Create();
        var first = project.Build("-p:AfmUpdateBaseline=true", "-p:AfmPackageSources=true");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Matches(new Regex(@"evaluate: colors \(multiple-choice, 12 items\) acc: float .* \| quantized .* \| quantized\+recovery-r4 "), first.Output);
        Assert.Matches(new Regex(@"evaluate: summaries \(generate, 4 items\) rouge_l: .*quantized\+summarize "), first.Output);
        Assert.Matches(new Regex(@"evaluate: heldout \(perplexity, 20 items\) bits_per_byte: "), first.Output);

        var artifact = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg"));
        foreach (var entry in new[] { "reports/evaluation.json", "reports/evaluation.md", "reports/evaluation.png" })
            Assert.True(artifact.Entries.ContainsKey(entry), entry);
        using (var report = artifact.Json("reports/evaluation.json"))
        {
            var root = report.RootElement;
            Assert.Equal(["float", "quantized", "quantized+recovery-r4", "quantized+summarize"], root.GetProperty("variants").EnumerateArray().Select(v => v.GetString()));
            var colors = root.GetProperty("tasks")[0];
            Assert.Equal(["float", "quantized", "quantized+recovery-r4"], colors.GetProperty("results").EnumerateObject().Select(p => p.Name));
            var acc = colors.GetProperty("results").GetProperty("quantized")[0];
            Assert.Equal("acc", acc.GetProperty("name").GetString());
            Assert.InRange(acc.GetProperty("value").GetDouble(), 0, 1);
            Assert.True(acc.GetProperty("standardError").GetDouble() >= 0);
        }
        Assert.True(File.Exists(project.PathOf("baseline/evaluation.json")));
        // The gate runs once against the baseline just written (as the quantization gate after an update), then nothing runs.
        var gated = project.Build("-p:AfmPackageSources=true");
        Assert.True(gated.ExitCode == 0, gated.ToString());
        Assert.DoesNotMatch(new Regex(@"^\s*(progress: )?evaluate: ", RegexOptions.Multiline), gated.Output);
        var question = project.Build("-question", "-p:AfmPackageSources=true");
        Assert.True(question.ExitCode == 0, question.ToString());

        // An edited task re-runs evaluation (and the package that carries its report), nothing before it.
        project.WriteFile("tasks/colors.jsonl", Colors(16, 0));
        var second = project.Build("-p:AfmPackageSources=true");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Matches(new Regex(@"evaluate: colors \(multiple-choice, 16 items\)"), second.Output);
        foreach (var stage in new[] { "train", "quantize", "export", "adapters" })
            Assert.DoesNotMatch(new Regex($@"^\s*(progress: )?{stage}: ", RegexOptions.Multiline), second.Output);
        Assert.True(project.Build("-question", "-p:AfmPackageSources=true").ExitCode == 0);

        // A baseline better than this build by more than the tolerance: the build fails naming the task and the drop.
        var baselinePath = project.PathOf("baseline/evaluation.json");
        var baseline = JsonNode.Parse(File.ReadAllText(baselinePath))!;
        var committed = baseline["tasks"]![0]!["results"]!["quantized"]![0]!;
        committed["value"] = committed["value"]!.GetValue<double>() + 0.5;
        File.WriteAllText(baselinePath, baseline.ToJsonString());
        var third = project.Build("-p:AfmPackageSources=true");
        Assert.NotEqual(0, third.ExitCode);
        Assert.Matches(new Regex(@"evaluation\.json\s*:\s*error AFM4400: task 'colors' on quantized: acc went from .* a drop of 0\.5"), third.Output);

        // Accepting the change rewrites the baseline; the next build passes.
        var update = project.Build("-p:AfmUpdateBaseline=true", "-p:AfmPackageSources=true");
        Assert.True(update.ExitCode == 0, update.ToString());
        var fourth = project.Build("-p:AfmPackageSources=true");
        Assert.True(fourth.ExitCode == 0, fourth.ToString());
    }
}
