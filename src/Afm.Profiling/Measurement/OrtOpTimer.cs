using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Profiling.Measurement;

/// <summary>
/// Times a micro graph with ONNX Runtime's own profiler: the per-node kernel times it records (events
/// <c>&lt;node&gt;_kernel_time</c>), the median over repeated runs per node, summed over the graph's nodes. Medians,
/// because the build machine is shared: a run that was descheduled should not move the number.
/// </summary>
public sealed class OrtOpTimer(int threads, int warmupRuns = 3, int measuredRuns = 15)
{
    public int Threads { get; } = threads;

    /// <summary>Median milliseconds of the graph's kernels per run, and the nodes ONNX Runtime executed.</summary>
    public (double Milliseconds, int Kernels) Time(MicroGraph graph)
    {
        var prefix = Path.Combine(Path.GetTempPath(), $"afm-ort-profile-{Environment.ProcessId}-{Guid.NewGuid():N}");
        string? profileFile = null;
        try
        {
            using var options = new SessionOptions
            {
                EnableProfiling = true,
                ProfileOutputPathPrefix = prefix,
                IntraOpNumThreads = Threads,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                // Basic (constant folding) only: fusions would change which kernels an op is made of.
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC,
            };
            using var session = new InferenceSession(graph.Model, options);
            var values = graph.Inputs.Select(i => i.Floats is not null
                ? OrtValue.CreateTensorValueFromMemory(i.Floats, i.Shape)
                : OrtValue.CreateTensorValueFromMemory(i.Int64s!, i.Shape)).ToList();
            try
            {
                using var run = new RunOptions();
                var names = graph.Inputs.Select(i => i.Name).ToArray();
                for (int r = 0; r < warmupRuns + measuredRuns; r++)
                {
                    using var outputs = session.Run(run, names, values, graph.Outputs.ToArray());
                }
            }
            finally
            {
                foreach (var value in values) value.Dispose();
            }
            profileFile = session.EndProfiling();
            return Summarize(File.ReadAllText(profileFile), warmupRuns);
        }
        finally
        {
            if (profileFile is not null && File.Exists(profileFile)) File.Delete(profileFile);
        }
    }

    /// <summary>Sum over nodes of each node's median kernel time after the warm-up runs (Identity nodes naming outputs excluded).</summary>
    internal static (double Milliseconds, int Kernels) Summarize(string profileJson, int warmupRuns)
    {
        using var document = JsonDocument.Parse(profileJson);
        var perNode = new Dictionary<string, List<(long Ts, double Us)>>(StringComparer.Ordinal);
        foreach (var e in document.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
            var name = e.GetProperty("name").GetString() ?? "";
            if (!name.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            if (e.TryGetProperty("args", out var args) && args.TryGetProperty("op_name", out var opName) && opName.GetString() == "Identity") continue;
            if (!perNode.TryGetValue(name, out var list)) perNode[name] = list = [];
            list.Add((e.GetProperty("ts").GetInt64(), e.GetProperty("dur").GetDouble()));
        }
        double total = 0;
        foreach (var samples in perNode.Values)
        {
            var measured = samples.OrderBy(s => s.Ts).Skip(warmupRuns).Select(s => s.Us).Order().ToList();
            if (measured.Count == 0) continue;
            total += measured[measured.Count / 2];
        }
        return (total / 1000.0, perNode.Count);
    }
}
