using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// The default artifact of a quantized project with an adapter is its deploy layout: no float weights beside the quantized
/// ones, no adapter.safetensors beside its .onnx_adapter; -p:AfmPackageSources=true brings both back by repackaging only.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class DeployLayoutTests
{
    private static string Compiler => RepositoryLayout.Compiler;

    private static readonly string Items = MicroModel.Items + """
                <QuantizationPlan Include="device" Bits="4" LowBits="2" GroupSize="16" CalibrationSequences="4" />
                <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="4" Tokens="2k" />
        """;

    private const string FloatWeights = "model/model.safetensors", AdapterSource = "adapters/recovery-r4/adapter.safetensors";

    [Fact]
    public void A_quantized_package_leaves_out_the_float_weights_and_adapter_sources_until_AfmPackageSources_is_true()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("-p:AfmPackageSources=true keeps them", build.Output);
        var package = project.PathOf("bin/Debug/micro.0.3.0.afmpkg");
        var deploy = ArtifactReader.Open(package);
        foreach (var entry in new[] { "model/model.onnx", "model/quantized.safetensors", "adapters/recovery-r4.onnx_adapter", "adapters/recovery-r4.json" })
            Assert.True(deploy.Entries.ContainsKey(entry), entry);
        foreach (var entry in new[] { FloatWeights, AdapterSource })
        {
            Assert.False(deploy.Entries.ContainsKey(entry), entry);
            Assert.DoesNotContain(deploy.Manifest.Files, f => f.Path == entry);
        }
        var run = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada has a", "--max-tokens", "6", "--temperature", "0", "--adapter", "recovery-r4");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("[micro:recovery-r4: ", run.Output);
        Assert.True(project.Build("-question").ExitCode == 0, "an unchanged project is up to date");

        // Toggling the property repackages and runs nothing else; the sources are the build's own files.
        var sources = project.Build("-p:AfmPackageSources=true");
        Assert.True(sources.ExitCode == 0, sources.ToString());
        Assert.DoesNotMatch(new Regex(@"^\s*(train \w+:|quantize:|adapters [\w-]+:|export:|export-adapters:)", RegexOptions.Multiline), sources.Output);
        Assert.Contains("package: ", sources.Output);
        var full = ArtifactReader.Open(package);
        Assert.Equal(File.ReadAllBytes(project.PathOf("obj/Debug/afm/train/model.safetensors")), full.Entries[FloatWeights]);
        Assert.Equal(File.ReadAllBytes(project.PathOf("obj/Debug/afm/adapters/recovery-r4/adapter.safetensors")), full.Entries[AdapterSource]);
        Assert.Contains(full.Manifest.Files, f => f.Path == FloatWeights);
        Assert.Equal(deploy.Entries.Count + 2, full.Entries.Count);
        var question = project.Build("-p:AfmPackageSources=true", "-question");
        Assert.True(question.ExitCode == 0, "unchanged with the property set is up to date\n" + question);

        var back = project.Build();
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Equal(deploy.Entries.Keys.Order(), ArtifactReader.Open(package).Entries.Keys.Order());
    }
}
