using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>With a QuantizationPlan the artifact's model.onnx carries the quantized weights compressed, and `afm run` generates from it.</summary>
[Collection(ToolchainCollection.Name)]
public sealed class QuantizedExportTests
{
    private static string Compiler => RepositoryLayout.Compiler;

    private static string Project(bool plan) => MicroModel.Project(items: MicroModel.Items + (plan
        ? """<QuantizationPlan Include="device" Bits="4" LowBits="2" GroupSize="16" CalibrationSequences="4" />"""
        : ""));

    [Fact]
    public void A_planned_build_exports_compressed_weights_that_afm_run_generates_from_and_removing_the_plan_exports_floats()
    {
        using var project = ModelProject.Create(Project(plan: true));
        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Matches(@"export: .*weights compressed", build.Output);
        var package = project.PathOf("bin/Debug/micro.0.3.0.afmpkg");
        var artifact = ArtifactReader.Open(package);
        // The deploy layout leaves the float weights out of a quantized project's artifact (specs/artifact.md).
        Assert.DoesNotContain("model/model.safetensors", artifact.Entries.Keys);
        long floatWeights = new FileInfo(project.PathOf("obj/Debug/afm/train/model.safetensors")).Length;
        long compressedGraph = artifact.Entries["model/model.onnx"].Length;

        var run = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada has a", "--max-tokens", "8", "--temperature", "0");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(@"\[micro: \d+ prompt tokens, \d+ generated, .* tokens/s", run.Output);

        // Without the plan the export runs again from the float weights; training does not.
        project.WriteProject(Project(plan: false));
        var second = project.Build();
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Matches(@"export: .*float weights", second.Output);
        var floatArtifact = ArtifactReader.Open(package);
        Assert.Contains("model/model.safetensors", floatArtifact.Entries.Keys);
        long floatGraph = floatArtifact.Entries["model/model.onnx"].Length;
        Assert.True(floatGraph > floatWeights);
        // The two graphs differ in their weights only (plus the expansion nodes): 4-bit palettized layers and an int8
        // embedding save well over half of the float32 weight bytes. (A micro model's graph structure — node names,
        // LoRA inputs — is as large as its weights, so the graph size alone says little.)
        Assert.True(floatGraph - compressedGraph > floatWeights / 2,
            $"model.onnx {compressedGraph} bytes compressed, {floatGraph} bytes float; float weights {floatWeights} bytes");
        Assert.True(project.Build("-question").ExitCode == 0, "an unchanged project is up to date after the plan was removed");
    }
}
