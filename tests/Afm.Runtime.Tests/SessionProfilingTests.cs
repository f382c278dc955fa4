using System.Text.Json;
using Afm.Onnx.Export;
using Afm.Runtime.Sessions;

namespace Afm.Runtime.Tests;

/// <summary>RuntimeOptions.ProfilePrefix turns on ONNX Runtime's own profiler for the session's runs (the decode-profile bench reads it).</summary>
public sealed class SessionProfilingTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public void A_profiled_session_writes_one_model_run_per_forward_with_its_kernels_and_the_same_logits()
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "model.onnx");
        File.WriteAllBytes(path, DecoderExporter.Export(TestArtifact.RandomDecoder(vocabSize: 300), "test"));
        using var plain = new DecoderSession(path, new RuntimeOptions { IntraOpThreads = 1 });
        using var profiled = new DecoderSession(path, new RuntimeOptions { IntraOpThreads = 1, ProfilePrefix = Path.Combine(directory, "trace") });
        using var plainCache = plain.NewCache();
        using var profiledCache = profiled.NewCache();
        long[] next = [3, 17, 42];
        for (int step = 0; step < 3; step++)
        {
            var a = plain.Forward(next, plainCache);
            var b = profiled.Forward(next, profiledCache);
            Assert.Equal(a, b);
            next = [Array.IndexOf(a, a.Max())];
        }
        Assert.Equal("", plain.EndProfiling());
        var trace = profiled.EndProfiling();
        Assert.StartsWith(Path.Combine(directory, "trace"), trace, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(trace));
        var events = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(3, events.Count(e => e.GetProperty("name").GetString() == "model_run"));
        // Every run's kernels, each named after its node, the exporter's scopes included.
        var kernels = events.Where(e => e.GetProperty("cat").GetString() == "Node" && e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)).ToList();
        Assert.True(kernels.Count >= 3 * plain.Layers);
        Assert.Contains(kernels, k => k.GetProperty("name").GetString()!.StartsWith(DecoderNames.Scopes.Layer(0) + "/", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
