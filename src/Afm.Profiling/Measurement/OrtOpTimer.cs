using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Profiling.Measurement;

/// <summary>One executed node (its name as in the optimized graph, without the profiler's suffix) and its kernel time.</summary>
public sealed record NodeTime(string Name, string OpType, double Milliseconds);

/// <summary>
/// Times micro graphs with ONNX Runtime's own profiler: the per-node kernel times it records (events
/// <c>&lt;node&gt;_kernel_time</c>), a quantile over repeated runs per node (<see cref="Quantile"/>, the median by
/// default), summed over the graph's nodes. Not the mean, because the build machine is shared: a run that was
/// descheduled should not move the number.
/// </summary>
public sealed class OrtOpTimer(int threads, int warmupRuns = 3, int measuredRuns = 15)
{
    public int Threads { get; } = threads;
    public int WarmupRuns { get; } = warmupRuns;
    public int MeasuredRuns { get; } = measuredRuns;

    /// <summary>
    /// Which order statistic of a node's runs is its time: 0.5 the median; lower reads the runs that other work on
    /// the machine did not slow down (interference only ever adds time, and more to kernels that wait for a second
    /// thread). Calibration and the times it is compared with must use the same quantile.
    /// </summary>
    public double Quantile { get; init; } = 0.5;

    /// <summary>Median milliseconds of the graph's kernels per run, and the nodes ONNX Runtime executed.</summary>
    public (double Milliseconds, int Kernels) Time(MicroGraph graph) => TimeAll([graph])[0];

    /// <summary>Graphs timed interleaved (<see cref="TimeNodes"/>), each summed over its timed kernels (<see cref="MicroGraph.Timed"/>).</summary>
    public IReadOnlyList<(double Milliseconds, int Kernels)> TimeAll(IReadOnlyList<MicroGraph> graphs) =>
        TimeNodes(graphs).Select((nodes, i) => graphs[i].Timed(nodes)).Select(nodes => (nodes.Sum(n => n.Milliseconds), nodes.Count)).ToList();

    /// <summary>
    /// Times several graphs <b>interleaved</b>: every round runs each graph once, so all of them sample the same
    /// stretch of the machine's load. Graphs that are compared (a calibration and the ops it predicts) must be
    /// timed in one call: timed one after the other, a load change between them reads as a model error.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<NodeTime>> TimeNodes(IReadOnlyList<MicroGraph> graphs)
    {
        var runs = new List<GraphRun>();
        try
        {
            foreach (var graph in graphs) runs.Add(new GraphRun(graph, Threads));
            for (int r = 0; r < WarmupRuns + MeasuredRuns; r++)
                foreach (var run in runs) run.RunOnce();
            return runs.Select(run => Nodes(run.EndProfiling(), WarmupRuns, Quantile)).ToList();
        }
        finally
        {
            foreach (var run in runs) run.Dispose();
        }
    }

    /// <summary>Sum over nodes of each node's kernel time at the quantile after the warm-up runs (Identity nodes naming outputs excluded).</summary>
    internal static (double Milliseconds, int Kernels) Summarize(string profileJson, int warmupRuns, double quantile = 0.5)
    {
        var nodes = Nodes(profileJson, warmupRuns, quantile);
        return (nodes.Sum(n => n.Milliseconds), nodes.Count);
    }

    /// <summary>Each executed node's kernel time at the quantile of its runs after the warm-up runs, in execution order.</summary>
    internal static IReadOnlyList<NodeTime> Nodes(string profileJson, int warmupRuns, double quantile = 0.5)
    {
        using var document = JsonDocument.Parse(profileJson);
        var perNode = new Dictionary<string, List<(long Ts, double Us)>>(StringComparer.Ordinal);
        var opTypes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in document.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
            var name = e.GetProperty("name").GetString() ?? "";
            if (!name.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            string opType = e.TryGetProperty("args", out var args) && args.TryGetProperty("op_name", out var opName) ? opName.GetString() ?? "" : "";
            if (opType == "Identity") continue;
            if (!perNode.TryGetValue(name, out var list)) perNode[name] = list = [];
            opTypes[name] = opType;
            list.Add((e.GetProperty("ts").GetInt64(), e.GetProperty("dur").GetDouble()));
        }
        var result = new List<NodeTime>();
        foreach (var (name, samples) in perNode.OrderBy(p => p.Value.Min(s => s.Ts)))
        {
            var measured = samples.OrderBy(s => s.Ts).Skip(warmupRuns).Select(s => s.Us).Order().ToList();
            if (measured.Count == 0) continue;
            var us = measured[Math.Min((int)(quantile * measured.Count), measured.Count - 1)];
            result.Add(new NodeTime(name[..^"_kernel_time".Length], opTypes[name], us / 1000.0));
        }
        return result;
    }

    /// <summary>One profiled session of one graph with its inputs.</summary>
    private sealed class GraphRun : IDisposable
    {
        private readonly MicroGraph graph;
        private readonly SessionOptions options;
        private readonly InferenceSession session;
        private readonly List<OrtValue> values;
        private readonly RunOptions runOptions = new();
        private readonly string[] names;
        private string? profileFile;

        public GraphRun(MicroGraph graph, int threads)
        {
            this.graph = graph;
            options = new SessionOptions
            {
                // The prefix before enabling: enabling reads it, and ONNX Runtime's default names files by the second,
                // so sessions opened in the same second would write one file.
                ProfileOutputPathPrefix = Path.Combine(Path.GetTempPath(), $"afm-ort-profile-{Environment.ProcessId}-{Guid.NewGuid():N}"),
                EnableProfiling = true,
                IntraOpNumThreads = threads,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                // Every optimization, as Afm.Runtime's sessions: the kernels timed are the fused ones `afm run` executes.
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            // As Afm.Runtime's sessions: idle workers that spin take the core a computing thread of another
            // session (or another engineer's build) needs, which on a shared 2-core machine is most of the noise.
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            session = new InferenceSession(graph.Model, options);
            values = graph.Inputs.Select(i => i.Floats is not null
                ? OrtValue.CreateTensorValueFromMemory(i.Floats, i.Shape)
                : OrtValue.CreateTensorValueFromMemory(i.Int64s!, i.Shape)).ToList();
            names = graph.Inputs.Select(i => i.Name).ToArray();
            // Outputs written into given buffers (the fused graph's cache, as DecoderSession binds it): an output bound to an
            // input is that input's value, the others are allocated once.
            if (graph.BoundOutputs is { } bound)
                outputValues = bound.Select(o => o.Input is { } input ? values[Array.IndexOf(names, input)]
                    : OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, o.Shape)).ToList();
        }

        private readonly List<OrtValue>? outputValues;

        public void RunOnce()
        {
            if (outputValues is not null)
            {
                session.Run(runOptions, names, values, graph.BoundOutputs!.Select(o => o.Name).ToArray(), outputValues);
                return;
            }
            using var outputs = session.Run(runOptions, names, values, graph.Outputs.ToArray());
        }

        public string EndProfiling()
        {
            profileFile = session.EndProfiling();
            return File.ReadAllText(profileFile);
        }

        public void Dispose()
        {
            foreach (var value in values) value.Dispose();
            foreach (var (value, output) in (outputValues ?? []).Zip(graph.BoundOutputs ?? []))
                if (output.Input is null) value.Dispose();
            runOptions.Dispose();
            session.Dispose();
            options.Dispose();
            if (profileFile is not null && File.Exists(profileFile)) File.Delete(profileFile);
        }
    }
}
