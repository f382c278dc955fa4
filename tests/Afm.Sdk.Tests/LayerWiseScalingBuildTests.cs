using System.Text.Json;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// A micro project with OpenELM's layer-wise scaling, q/k/v biases and an untied head goes through every stage (train,
/// profile, quantize, adapters, export, package), and `afm run` generates from its artifact, with and without the adapter.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class LayerWiseScalingBuildTests
{
    private static string Compiler => RepositoryLayout.Compiler;

    // ModelDim 32, 3 layers, heads of 8: qkv 0.5, 0.75, 1.0 x 32 = 16, 24, 32 to the nearest multiple of 8 x 2 (halves up)
    // -> 16, 32, 32 -> 2, 4, 4 heads and 1, 2, 2 key/value heads; FFN 1, 2, 3 x 32 in multiples of 16 -> 32, 64, 96.
    private const string Properties = """
            <ModelName>micro</ModelName>
            <Version>0.3.0</Version>
            <Seed>42</Seed>
            <ModelDim>32</ModelDim>
            <Layers>3</Layers>
            <LayerWiseScaling>true</LayerWiseScaling>
            <HeadDim>8</HeadDim>
            <QkvMultipliers>0.5;1.0</QkvMultipliers>
            <FfnMultipliers>1;3</FfnMultipliers>
            <GqaGroups>2</GqaGroups>
            <FfnDimDivisor>16</FfnDimDivisor>
            <AttentionBias>true</AttentionBias>
            <TieEmbeddings>false</TieEmbeddings>
        """;

    private static readonly string Items = MicroModel.Items + """
                <DeviceProfile Include="phone-npu" />
                <QuantizationPlan Include="device" Bits="4" LowBits="2" GroupSize="16" CalibrationSequences="4" Device="phone-npu" />
                <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="4" Tokens="2k" />
        """;

    [Fact]
    public void A_layer_wise_scaled_model_builds_through_package_and_afm_run_generates_from_it()
    {
        using var project = ModelProject.Create(MicroModel.Project(Properties, Items));
        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        foreach (var stage in new[] { "train core: ", "quantize: ", "adapters recovery-r4: done", "export: " })
            Assert.Contains(stage, build.Output);
        var package = project.PathOf("bin/Debug/micro.0.3.0.afmpkg");
        var artifact = ArtifactReader.Open(package);
        foreach (var entry in new[] { "model/model.onnx", "model/quantized.safetensors", "adapters/recovery-r4.onnx_adapter", "spec.json", "profile/phone-npu/profile.json" })
            Assert.True(artifact.Entries.ContainsKey(entry), entry);
        // Each layer's cache has its own key/value heads, and the graph says so to the runtime (specs/onnx-export.md): the
        // metadata entry's key, then its value (protobuf field 2, 5 bytes).
        byte[] layerKvHeads = [.. "afm.layer_kv_heads"u8, 0x12, 5, .. "1,2,2"u8];
        Assert.True(artifact.Entries["model/model.onnx"].AsSpan().IndexOf(layerKvHeads) >= 0, "model.onnx has no afm.layer_kv_heads = 1,2,2");

        using var spec = JsonDocument.Parse(artifact.Entries["spec.json"]);
        var shapes = spec.RootElement.GetProperty("architecture").GetProperty("layerShapes").EnumerateArray()
            .Select(s => $"{s.GetProperty("heads").GetInt32()}/{s.GetProperty("kvHeads").GetInt32()}/{s.GetProperty("ffnDim").GetInt32()}").ToList();
        Assert.Equal(["2/1/32", "4/2/64", "4/2/96"], shapes);

        var run = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada has a", "--max-tokens", "8", "--temperature", "0");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(@"\[micro: \d+ prompt tokens, [1-9]\d* generated, .* tokens/s", run.Output);
        var adapted = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada has a", "--max-tokens", "6", "--temperature", "0", "--adapter", "recovery-r4");
        Assert.True(adapted.ExitCode == 0, adapted.ToString());
        Assert.Contains("[micro:recovery-r4: ", adapted.Output);
        Assert.True(project.Build("-question").ExitCode == 0, "an unchanged project is up to date");
    }
}
