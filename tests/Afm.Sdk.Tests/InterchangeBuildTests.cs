using System.Text;
using System.Text.Json;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// AfmExportFormats="gguf;genai": the runtime formats are written beside the package by their own targets, turning
/// them on after a build re-runs no stage before them, and a second build is a no-op that -question accepts.
/// (llama.cpp and ONNX Runtime GenAI load these files in tests/Afm.Interchange.Tests.)
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class InterchangeBuildTests
{
    private const string Items = MicroModel.ItemsWithRecoveryAdapter;

    [Fact]
    public void Turning_on_gguf_and_genai_writes_them_beside_the_package_without_retraining()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        Assert.Equal(0, project.Build().ExitCode);
        var weights = project.PathOf("obj/Debug/afm/train/model.safetensors");
        var graph = project.PathOf("obj/Debug/afm/export/model.onnx");
        var (trained, exported) = (File.GetLastWriteTimeUtc(weights), File.GetLastWriteTimeUtc(graph));

        project.WriteProject(MicroModel.Project(MicroModel.Properties + """

                    <AfmExportFormats>gguf;genai</AfmExportFormats>
                    <AfmGgufTypes>f32;q8_0</AfmGgufTypes>
            """, Items));
        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal(trained, File.GetLastWriteTimeUtc(weights));
        Assert.Equal(exported, File.GetLastWriteTimeUtc(graph));

        foreach (var file in new[] { "micro.0.3.0.f32.gguf", "micro.0.3.0.q8_0.gguf", "micro.0.3.0.recovery-r4.lora.gguf" })
            Assert.Equal("GGUF", Encoding.ASCII.GetString(File.ReadAllBytes(project.PathOf("bin/Debug/" + file)), 0, 4));
        Assert.False(File.Exists(project.PathOf("bin/Debug/micro.0.3.0.f16.gguf")));
        var genai = project.PathOf("bin/Debug/micro.0.3.0.genai");
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(genai, "genai_config.json")));
        Assert.Equal("decoder", config.RootElement.GetProperty("model").GetProperty("type").GetString());
        Assert.Equal(File.ReadAllBytes(graph), File.ReadAllBytes(Path.Combine(genai, "model.onnx")));
        Assert.True(File.Exists(Path.Combine(genai, "recovery-r4.onnx_adapter")));
        Assert.True(File.Exists(Path.Combine(genai, "tokenizer.json")));

        // No-op: the second build writes no format again and -question finds every target up to date. (A wall-clock bound
        // on the no-op build was here; it failed at load 25 with nothing re-run, and speed belongs in bench/, not in tests.)
        var again = project.Build();
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.False(again.Output.Contains("export-gguf:") || again.Output.Contains("export-genai:"), "a second build writes no format again\n" + again);
        var question = project.Build("-question");
        Assert.True(question.ExitCode == 0, "an unchanged project with export formats is up to date\n" + question);
    }

    [Fact]
    public void With_a_quantization_plan_the_gguf_holds_the_quantize_stage_weights_dequantized_and_says_so()
    {
        using var project = ModelProject.Create(MicroModel.Project(MicroModel.Properties + """

                    <AfmExportFormats>gguf</AfmExportFormats>
                    <AfmGgufTypes>f32</AfmGgufTypes>
            """, MicroModel.Items + """<QuantizationPlan Include="device" Bits="4" LowBits="2" GroupSize="16" CalibrationSequences="4" />"""));
        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("weights of the quantize stage (plan 'device'), dequantized to float", build.Output);
        // general.description is in the file's metadata, where llama.cpp's tools show it.
        var file = Encoding.UTF8.GetString(File.ReadAllBytes(project.PathOf("bin/Debug/micro.0.3.0.f32.gguf")));
        Assert.Contains("weights of the quantize stage (plan 'device'), dequantized to float", file);
    }

    [Fact]
    public void An_unknown_export_format_is_AFM6103_at_the_property()
    {
        using var project = ModelProject.Create(MicroModel.Project(MicroModel.Properties + """

                    <AfmExportFormats>gguf;mlx</AfmExportFormats>
            """));
        var build = project.Build();
        Assert.NotEqual(0, build.ExitCode);
        Assert.True(build.Output.Contains("micro.afmproj(11,9): error AFM6103"), build.ToString());
    }
}
