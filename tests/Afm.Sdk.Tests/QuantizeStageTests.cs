using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

[Collection(ToolchainCollection.Name)]
public sealed class QuantizeStageTests
{
    private static string Project(double target, string extraProperties = "") => MicroModel.Project(
        properties: MicroModel.Properties + $"""
                <AfmQuantizationBaseline>baseline/quantization.json</AfmQuantizationBaseline>
                <AfmBaselinePerplexityTolerance>1.0</AfmBaselinePerplexityTolerance>
            {extraProperties}
            """,
        items: MicroModel.Items + $"""
                <QuantizationPlan Include="device" Bits="4" LowBits="2" GroupSize="16" TargetBitsPerWeight="{target.ToString(System.Globalization.CultureInfo.InvariantCulture)}" CalibrationSequences="8" />
            """);

    [Fact]
    public void A_plan_quantizes_into_the_artifact_changing_it_never_retrains_and_the_baseline_gate_fails_a_regression()
    {
        using var project = ModelProject.Create(Project(3.5));
        var first = project.Build("-p:AfmUpdateBaseline=true");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(File.Exists(project.PathOf("baseline/quantization.json")), first.ToString());
        var artifact = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg"));
        foreach (var entry in new[] { "model/quantized.safetensors", "reports/quantization.json", "reports/quantization.md", "reports/quantization-bits.png" })
            Assert.True(artifact.Entries.ContainsKey(entry), entry);
        Assert.Contains("quantize", artifact.Manifest.Stages);
        var weights = File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/train/model.safetensors"));

        // Only the plan changes: quantize and package run again, training does not.
        project.WriteProject(Project(3.0));
        var second = project.Build();
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.DoesNotMatch(new Regex(@"^\s*train ", RegexOptions.Multiline), second.Output);
        Assert.Matches(new Regex(@"^\s*quantize: ", RegexOptions.Multiline), second.Output);
        Assert.Equal(weights, File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/train/model.safetensors")));
        using (var report = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")).Json("reports/quantization.json"))
            Assert.InRange(report.RootElement.GetProperty("totals").GetProperty("bitsPerWeight").GetDouble(), 2.0, 3.0);
        var question = project.Build("-question");
        Assert.True(question.ExitCode == 0, question.ToString());

        // A committed baseline with fewer bits per weight than this build: the gate fails the build.
        var baseline = JsonNode.Parse(File.ReadAllText(project.PathOf("baseline/quantization.json")))!;
        baseline["totals"]!["bitsPerWeight"] = 2.0;
        File.WriteAllText(project.PathOf("baseline/quantization.json"), baseline.ToJsonString());
        var third = project.Build();
        Assert.NotEqual(0, third.ExitCode);
        Assert.Matches(new Regex(@"quantization\.json\s*:\s*error AFM4201:"), third.Output);
    }

    private static string BudgetProject(string maxLatencyMs) => MicroModel.Project(items: MicroModel.Items + $"""
                <DeviceProfile Include="phone-npu" />
                <QuantizationPlan Include="device" Bits="4" LowBits="2" Device="phone-npu"
                                  MaxLatencyMs="{maxLatencyMs}" CalibrationSequences="8" />
            """);

    [Fact]
    public void A_device_latency_budget_uses_the_profile_stage_costs_and_an_impossible_one_is_AFM4104_at_its_attribute_without_retraining()
    {
        using var project = ModelProject.Create(BudgetProject("1000"));
        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        using (var report = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")).Json("reports/quantization.json"))
        {
            var device = report.RootElement.GetProperty("devices")[0];
            Assert.Equal("phone-npu", device.GetProperty("name").GetString());
            Assert.True(device.GetProperty("budget").GetBoolean());
            Assert.InRange(device.GetProperty("quantized").GetProperty("latencyMs").GetDouble(), 1e-9, 1000);
        }
        var weights = File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/train/model.safetensors"));
        var profile = File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/profile/profiles.json"));

        // Only the budget changes: quantize runs again (and fails at the attribute); training and profiling do not.
        string impossible = BudgetProject("0.000001");
        project.WriteProject(impossible);
        var second = project.Build();
        Assert.NotEqual(0, second.ExitCode);
        int line = impossible.Split('\n').ToList().FindIndex(l => l.Contains("MaxLatencyMs=", StringComparison.Ordinal)) + 1;
        Assert.Matches(new Regex($@"micro\.afmproj\({line},\d+\): error AFM4104: MaxLatencyMs 0\.000001 cannot be met on device 'phone-npu'"), second.Output);
        Assert.DoesNotMatch(new Regex(@"^\s*train ", RegexOptions.Multiline), second.Output);
        Assert.Equal(weights, File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/train/model.safetensors")));
        Assert.Equal(profile, File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/profile/profiles.json")));
    }
}
