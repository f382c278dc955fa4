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

    [Fact]
    public async Task A_copy_is_built_outside_the_lock_and_once_for_every_request_that_waits_for_it()
    {
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var builds = new System.Collections.Concurrent.ConcurrentBag<float>();
        using var copies = new ScaledAdapters((file, scale) =>
        {
            builds.Add(scale);
            if (scale == 0.5f)
            {
                started.Set();
                release.Wait();
            }
            return Microsoft.ML.OnnxRuntime.OrtLoraAdapter.Create(ScaledAdapters.Scaled(File.ReadAllBytes(file), scale), null);
        });
        var adapter = fixture.Model.Adapters.Resolve(TestArtifact.Adapter, "test");
        var slow = Task.Run(() => copies.Rent(adapter, AdapterFile, 0.5));
        started.Wait();
        var same = Task.Run(() => copies.Rent(adapter, AdapterFile, 0.5));
        // While the first copy is being built, another scale is built and rented: no lock is held over a build.
        using (var other = copies.Rent(adapter, AdapterFile, 0.25)) Assert.NotNull(other.Handle);
        Assert.False(slow.IsCompleted);
        release.Set();
        using var first = await slow;
        using var second = await same;
        Assert.Same(first.Handle, second.Handle);
        Assert.Equal([0.25f, 0.5f], builds.Order());
        Assert.Equal(2, copies.Count);
    }

    [Theory]
    [InlineData(4.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_scale_out_of_range_is_AFM7004(double scale) =>
        Assert.Equal(RuntimeCodes.InvalidGenerationOption, Assert.Throws<Afm.Core.Diagnostics.DiagnosticException>(
            () => TextGenerator.ValidateOptions(new GenerationOptions { Adapter = TestArtifact.Adapter, AdapterScale = scale })).Diagnostic.Code);
}
