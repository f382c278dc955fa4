using Afm.Onnx.Adapters;
using Afm.Runtime.Adapters;
using Afm.Runtime.Generation;

namespace Afm.Runtime.Tests;

/// <summary>An adapter at another scale: its B tensors times the scale (LoRA's delta is linear in B), kept in a bounded cache.</summary>
public sealed class ScaledAdapterTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private string AdapterFile => Path.Combine(fixture.Model.ArtifactDirectory, Afm.Core.Artifacts.ArtifactLayout.AdaptersFolder, TestArtifact.Adapter + OnnxAdapterFormat.Extension);

    [Fact]
    public void A_scaled_copy_multiplies_every_B_and_keeps_every_A()
    {
        var original = OnnxAdapterFormat.Read(File.ReadAllBytes(AdapterFile));
        var scaled = OnnxAdapterFormat.Read(ScaledAdapters.Scaled(File.ReadAllBytes(AdapterFile), 0.25f));
        Assert.Equal(original.Parameters.Select(p => p.Name), scaled.Parameters.Select(p => p.Name));
        Assert.Contains(original.Parameters, p => p.Name.EndsWith(".lora_B", StringComparison.Ordinal));
        foreach (var (before, after) in original.Parameters.Zip(scaled.Parameters))
        {
            Assert.Equal(before.Dims, after.Dims);
            var expected = before.Name.EndsWith(".lora_B", StringComparison.Ordinal) ? before.ToFloats().Select(v => v * 0.25f) : before.ToFloats();
            Assert.Equal(expected, after.ToFloats());
        }
    }

    [Fact]
    public async Task At_most_eight_scaled_copies_are_kept()
    {
        var generator = fixture.Model.Generator;
        for (int i = 1; i <= 10; i++)
            await foreach (var _ in generator.GenerateAsync("Ada", new GenerationOptions { MaxTokens = 1, Adapter = TestArtifact.Adapter, AdapterScale = i / 10.0 })) { }
        Assert.Equal(ScaledAdapters.Capacity, fixture.Model.Adapters.ScaledCopies);
    }

    [Theory]
    [InlineData(4.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_scale_out_of_range_is_AFM7004(double scale) =>
        Assert.Equal(RuntimeCodes.InvalidGenerationOption, Assert.Throws<Afm.Core.Diagnostics.DiagnosticException>(
            () => TextGenerator.ValidateOptions(new GenerationOptions { Adapter = TestArtifact.Adapter, AdapterScale = scale })).Diagnostic.Code);
}
