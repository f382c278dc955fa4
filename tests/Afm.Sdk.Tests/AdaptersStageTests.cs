using System.Text.Json;
using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// A quantized micro model with a recovery adapter at two ranks and a feature adapter that starts from one of them. The
/// recovery adapter starts from zero (Init="zero"): this micro model loses only 0.0013 nats to quantization, and from the
/// error start (KL 0.00048 -> 0.00032 before training) 8k tokens at lr 0.01 end above the base (rank 8: KL 0.00084), so
/// "the adapter beats the base" holds here only from zero.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class AdaptersStageTests
{
    private static string Project(string recoveryLearningRate) => MicroModel.Project(items: MicroModel.Items + $"""
            <QuantizationPlan Include="device" Bits="4" LowBits="2" GroupSize="16" TargetBitsPerWeight="3" CalibrationSequences="8" />
            <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="4;8" Tokens="8k" BatchSize="8" LearningRate="{recoveryLearningRate}" Control="true" Init="zero" />
            <Adapter Include="summarize" Rank="8" InitFrom="recovery" Data="data/sft/*.jsonl" PromptField="text" ResponseField="summary"
                     Tokens="6k" SequenceLength="48" LearningRate="0.005" Version="1.2.0" />
        """);

    private static string Notifications(int count) => string.Join("\n", Enumerable.Range(0, count).Select(i => JsonSerializer.Serialize(new
    {
        text = $"Shop: your order #{1000 + i * 37 % 9000} with item {i % 7} has shipped and arrives on day {i % 5}.",
        summary = $"Order {i % 7} arrives day {i % 5}.",
    })));

    [Fact]
    public void Adapters_train_on_the_quantized_base_into_the_artifact_and_an_lr_edit_reruns_only_adapters_and_later()
    {
        using var project = ModelProject.Create(Project("0.01"));
        project.WriteFile("data/sft/notifications.jsonl", Notifications(60));
        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());

        var artifact = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg"));
        // The deploy layout packages each adapter as ORT's .onnx_adapter; adapter.safetensors only with AfmPackageSources=true.
        foreach (var entry in new[] { "adapters/recovery-r4.onnx_adapter", "adapters/recovery-r8.onnx_adapter",
                     "adapters/summarize.onnx_adapter", "reports/adapters.json", "reports/adapters.md" })
            Assert.True(artifact.Entries.ContainsKey(entry), entry);
        Assert.Contains("adapters", artifact.Manifest.Stages);
        using (var report = artifact.Json("reports/adapters.json"))
        {
            var root = report.RootElement;
            Assert.Equal("quantized", root.GetProperty("base").GetString());
            var adapters = root.GetProperty("adapters").EnumerateArray().ToList();
            Assert.Equal(["recovery-r4", "recovery-r8", "summarize"], adapters.Select(a => a.GetProperty("name").GetString()));
            foreach (var recovery in adapters.Take(2))
            {
                Assert.True(recovery.GetProperty("adaptedLoss").GetDouble() < recovery.GetProperty("baseLoss").GetDouble(), recovery.ToString());
                // Control="true": the float control's loss, and the recovery net of it (or why the loss is too small for a share).
                var figures = recovery.GetProperty("recovery");
                double gap = recovery.GetProperty("baseLoss").GetDouble() - recovery.GetProperty("floatLoss").GetDouble();
                Assert.Equal(gap, figures.GetProperty("quantizationLoss").GetDouble(), 4);
                double gain = recovery.GetProperty("floatLoss").GetDouble() - recovery.GetProperty("controlLoss").GetDouble();
                Assert.Equal(gain, figures.GetProperty("controlGain").GetDouble(), 4);
                // The report's losses are batch means in float, the measurement's per-sequence sums in double: within 0.01 of a share.
                if (figures.GetProperty("measurable").GetBoolean())
                    Assert.InRange(figures.GetProperty("netShare").GetDouble() -
                        (1 - (recovery.GetProperty("adaptedLoss").GetDouble() - recovery.GetProperty("controlLoss").GetDouble()) / gap), -0.01, 0.01);
                else Assert.Equal(JsonValueKind.Null, figures.GetProperty("netShare").ValueKind);
            }
            Assert.Contains("net of control", System.Text.Encoding.UTF8.GetString(artifact.Entries["reports/adapters.md"]));
            var feature = adapters[2];
            Assert.Equal(("recovery-r8", "1.2.0"), (feature.GetProperty("initFrom").GetString(), feature.GetProperty("version").GetString()));
            Assert.True(feature.GetProperty("adaptedLoss").GetDouble() < feature.GetProperty("baseLoss").GetDouble() - 0.3, feature.ToString());
        }
        Assert.True(project.Build("-question").ExitCode == 0, "an unchanged project with adapters is up to date");

        // Only the recovery adapters' learning rate changes: no data, train or quantize work; the adapters stage retrains them and the feature adapter that starts from one.
        var quantized = File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/quantize/model.safetensors"));
        project.WriteProject(Project("0.02"));
        var second = project.Build();
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.DoesNotMatch(new Regex(@"^\s*(train \w+:|quantize:|corpus \w+:)", RegexOptions.Multiline), second.Output);
        Assert.Matches(new Regex(@"adapters recovery-r8: done", RegexOptions.Multiline), second.Output);
        Assert.Matches(new Regex(@"adapters summarize: done", RegexOptions.Multiline), second.Output);
        Assert.Equal(quantized, File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/quantize/model.safetensors")));
    }

    [Fact]
    public void A_feature_adapter_line_without_its_response_field_is_an_error_at_that_line()
    {
        using var project = ModelProject.Create(Project("0.01").Replace("Tokens=\"8k\"", "Tokens=\"1k\"").Replace("Tokens=\"6k\"", "Tokens=\"1k\""));
        project.WriteFile("data/sft/notifications.jsonl", Notifications(5) + "\n{\"text\":\"no summary here\"}\n");
        var build = project.Build();
        Assert.NotEqual(0, build.ExitCode);
        Assert.Matches(new Regex(@"notifications\.jsonl\(6,1\)\s*:\s*error AFM3001:"), build.Output);
    }
}
