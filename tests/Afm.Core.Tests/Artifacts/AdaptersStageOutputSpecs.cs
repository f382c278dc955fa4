using Afm.Core.Artifacts;

namespace Afm.Core.Tests.Artifacts;

/// <summary>The one rule by which every stage after the adapters stage finds the trained adapters (issue #21).</summary>
public sealed class AdaptersStageOutputSpecs : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("afm-adapters-output-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private void Adapter(string name, bool withWeights = true)
    {
        var folder = Directory.CreateDirectory(Path.Combine(directory, name)).FullName;
        File.WriteAllText(Path.Combine(folder, "result.json"), "{}");
        if (withWeights) File.WriteAllBytes(Path.Combine(folder, "adapter.safetensors"), [0]);
    }

    [Fact]
    public void A_trained_adapter_is_a_folder_holding_adapter_safetensors_ordered_by_name()
    {
        Adapter("summarize");
        Adapter("Tone"); // ordinal: upper case first, whatever the culture says
        Adapter("recovery-r16");
        Adapter("work", withWeights: false); // feature data packed by the stage, not an adapter

        var adapters = AdaptersStageOutput.Adapters(directory);

        Assert.Equal(["Tone", "recovery-r16", "summarize"], adapters.Select(a => a.Name));
        Assert.Equal(Path.Combine(directory, "summarize", "adapter.safetensors"), adapters[2].Weights);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("missing")]
    public void No_folder_means_no_adapters(string? name) =>
        Assert.Empty(AdaptersStageOutput.Adapters(name is { Length: > 0 } ? Path.Combine(directory, name) : name));
}
