using Afm.Core.Diagnostics;
using Afm.Runtime.Generation;

namespace Afm.Runtime.Tests;

/// <summary>Adapters of an artifact in the runtime: loaded once, activated per call, refused when built for another base.</summary>
public abstract class AdapterRuntimeBehaviour(ArtifactFixture fixture)
{
    private static readonly long[] Prompt = [1, 40, 41, 42, 43];

    private float[] Logits(string? adapter)
    {
        using var cache = fixture.Model.Session.NewCache();
        var handle = adapter is null ? null : fixture.Model.Adapters.Resolve(adapter, "test").Handle;
        return fixture.Model.Session.Forward(Prompt, cache, handle);
    }

    [Fact]
    public void The_matching_adapter_is_loaded_and_the_one_built_for_another_base_is_refused_with_AFM7006()
    {
        Assert.Equal([TestArtifact.Adapter], fixture.Model.Adapters.Available.Select(a => a.Name));
        var error = Assert.Throws<DiagnosticException>(() => fixture.Model.Adapters.Resolve(TestArtifact.StaleAdapter, "request"));
        Assert.Equal(RuntimeCodes.AdapterBaseMismatch, error.Diagnostic.Code);
        Assert.Contains(new string('e', 64), error.Diagnostic.Message);
        Assert.Contains(TestArtifact.BaseSha256, error.Diagnostic.Message);
    }

    [Fact]
    public void An_unknown_adapter_is_AFM7005_naming_the_adapters_there_are()
    {
        var error = Assert.Throws<DiagnosticException>(() =>
            fixture.Model.Generator.Validate(new GenerationOptions { Adapter = "translate" }, 3, "request"));
        Assert.Equal(RuntimeCodes.AdapterNotAvailable, error.Diagnostic.Code);
        Assert.Contains("summarize", error.Diagnostic.Message);
    }

    [Fact]
    public void The_adapter_changes_the_logits_of_its_call_and_the_next_call_without_it_is_the_base_again()
    {
        var before = Logits(null);
        var adapted = Logits(TestArtifact.Adapter);
        var after = Logits(null);
        Assert.Equal(before, after);
        Assert.True(before.Zip(adapted).Max(p => Math.Abs(p.First - p.Second)) > 1e-2f);
        Assert.Equal(adapted, Logits(TestArtifact.Adapter));
    }
}

public sealed class AdapterRuntimeTests(ArtifactFixture fixture) : AdapterRuntimeBehaviour(fixture), IClassFixture<ArtifactFixture>;

/// <summary>The same behaviour on the fused graph, whose cache is a buffer written in place.</summary>
public sealed class FusedGraphAdapterRuntimeTests(FusedArtifactFixture fixture) : AdapterRuntimeBehaviour(fixture), IClassFixture<FusedArtifactFixture>;
