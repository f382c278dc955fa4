using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Afm.Core.Spec;
using Afm.Onnx.Export;
using Afm.Runtime.Sessions;

namespace Afm.Bench.Peers;

/// <summary>
/// Where one decode step of the 4-bit resident graph spends its time (issue #23), read from ONNX Runtime's own profiler:
/// the graph runs in our <see cref="DecoderSession"/> with profiling on, a 16-token prompt, warm-up steps, then timed steps;
/// for the timed steps only, each kernel's time from the trace, grouped by op type and by role (each MatMulNBits shape, the
/// tied head, attention, norms, the rest), and the step's kernel sum beside the Run's own span and the wall time of
/// <see cref="DecoderSession.Forward(long[], KvCache, Microsoft.ML.OnnxRuntime.OrtLoraAdapter?)"/> around it: the differences are
/// the executor's overhead between kernels and the binding/copy cost outside the Run. The same steps timed in a session
/// without profiling say what the profiler itself adds.
/// </summary>
internal static class DecodeProfileBench
{
    private const int WarmupSteps = 4;

    /// <summary>One kernel of one Run: node name, op type, output shape as the profiler prints it, microseconds.</summary>
    internal sealed record Kernel(string Node, string OpType, string Shape, double Us);

    /// <summary>One Run of the session: its span in the trace, and its kernels.</summary>
    internal sealed record RunSpan(double Us, IReadOnlyList<Kernel> Kernels);

    public static void Run(string onnx, string label, int tokens, int threads, Action<string> print)
    {
        // Plain first: the same steps without the profiler, for what it adds.
        double plain;
        using (var session = new DecoderSession(onnx, new RuntimeOptions { IntraOpThreads = threads }))
        {
            Runtimes.OursDecode(session, WarmupSteps);
            plain = Runtimes.OursDecode(session, tokens);
        }
        var prefix = Path.Combine(Path.GetTempPath(), $"afm-decode-profile-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var walls = new List<double>();
        string trace;
        using (var session = new DecoderSession(onnx, new RuntimeOptions { IntraOpThreads = threads, ProfilePrefix = prefix }))
        {
            using var cache = session.NewCache();
            var logits = session.Forward(Runtimes.Prompt.Select(i => (long)i).ToArray(), cache);
            for (int step = 0; step < WarmupSteps + tokens; step++)
            {
                var clock = Stopwatch.StartNew();
                logits = session.Forward([ArgMax(logits)], cache);
                if (step >= WarmupSteps) walls.Add(clock.Elapsed.TotalMicroseconds);
            }
            trace = session.EndProfiling();
        }
        List<RunSpan> runs;
        try
        {
            runs = Runs(File.ReadAllText(trace));
        }
        finally
        {
            File.Delete(trace);
        }
        if (runs.Count != 1 + WarmupSteps + tokens)
            throw new InvalidDataException($"{trace}: {runs.Count} runs in the trace, expected {1 + WarmupSteps + tokens} (prompt, warm-up, timed steps).");
        var steps = runs.Skip(1 + WarmupSteps).ToList();
        Report(label, steps, walls, plain, threads, print);
        // The chain as long as a step's kernels: what dispatch alone costs a step of this graph.
        int count = steps[0].Kernels.Count;
        var (perKernel, oneKernel) = DispatchCost(count, 768, 200);
        print($"Dispatch without the profiler (a chain of {count} Adds of [1, 768] vs one, median of 200 Runs each, interleaved, 1 thread): " +
            $"{perKernel:F2} us per added kernel, {perKernel * count / 1000:F2} ms for this graph's {count} kernels per step; a Run of one kernel {oneKernel:F1} us.");
    }

    /// <summary>Every <c>model_run</c> of a Chrome-trace profile with the kernels that started inside it, in order.</summary>
    internal static List<RunSpan> Runs(string profileJson)
    {
        using var document = JsonDocument.Parse(profileJson);
        var spans = new List<(long Ts, double Dur)>();
        var kernels = new List<(long Ts, Kernel Kernel)>();
        foreach (var e in document.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat)) continue;
            var name = e.GetProperty("name").GetString() ?? "";
            if (cat.GetString() == "Session" && name == "model_run")
                spans.Add((e.GetProperty("ts").GetInt64(), e.GetProperty("dur").GetDouble()));
            else if (cat.GetString() == "Node" && name.EndsWith("_kernel_time", StringComparison.Ordinal))
            {
                var args = e.GetProperty("args");
                string op = args.TryGetProperty("op_name", out var o) ? o.GetString() ?? "" : "";
                string shape = args.TryGetProperty("output_type_shape", out var s) ? Shape(s) : "";
                kernels.Add((e.GetProperty("ts").GetInt64(), new Kernel(name[..^"_kernel_time".Length], op, shape, e.GetProperty("dur").GetDouble())));
            }
        }
        spans.Sort((a, b) => a.Ts.CompareTo(b.Ts));
        return spans.Select(span => new RunSpan(span.Dur, kernels.Where(k => k.Ts >= span.Ts && k.Ts <= span.Ts + span.Dur).Select(k => k.Kernel).ToList())).ToList();
    }

    /// <summary>The profiler's <c>[{"float":[1,1,768]}]</c> as <c>1x1x768</c> (the first output's dimensions).</summary>
    private static string Shape(JsonElement outputs)
    {
        foreach (var output in outputs.EnumerateArray())
            foreach (var property in output.EnumerateObject())
                return string.Join('x', property.Value.EnumerateArray().Select(d => d.GetInt64().ToString(CultureInfo.InvariantCulture)));
        return "";
    }

    /// <summary>
    /// What a kernel does in the step, from the exporter's node scopes (<c>block/inner/OpType_N</c>, DecoderNames.Scopes;
    /// ORT keeps the name as the prefix of a node it fuses): the block (embed, positions, layers, head), then within it the
    /// weight's scope without the layer's prefix (a projection, a norm), a weightless op (attention, rope, swiglu) or the
    /// residual additions; projections also by their output shape.
    /// </summary>
    internal static string Role(Kernel k)
    {
        var parts = k.Node.Split('/');
        string block = parts[0].StartsWith("layers.", StringComparison.Ordinal) ? "layers" : parts.Length > 1 ? parts[0] : "unscoped";
        string inner = parts.Length > 2 ? parts[1] : "(residual adds)";
        if (block == "layers" && parts.Length > 2)
        {
            // "layers.3.attn.q_proj" -> "attn.q_proj"
            if (inner.StartsWith("layers.", StringComparison.Ordinal) && inner.IndexOf('.', "layers.".Length) is var dot and > 0) inner = inner[(dot + 1)..];
        }
        return k.OpType is "MatMulNBits" or "Gemm" ? $"{block} {inner} {k.OpType} -> {k.Shape}" : $"{block} {inner}";
    }

    private static void Report(string label, IReadOnlyList<RunSpan> steps, IReadOnlyList<double> walls, double plainTokensPerSecond, int threads, Action<string> print)
    {
        int n = steps.Count;
        double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        }
        var kernelSums = steps.Select(s => s.Kernels.Sum(k => k.Us)).ToList();
        double wall = Median(walls), run = Median(steps.Select(s => s.Us)), kernels = Median(kernelSums);
        // The fastest step is the one other work on the machine disturbed least: its split is the cleaner one.
        int fastest = Enumerable.Range(0, n).MinBy(i => walls[i]);
        double bestWall = walls[fastest], bestRun = steps[fastest].Us, bestKernels = kernelSums[fastest];
        print($"### Decode profile: {label}, {threads} thread(s), {n} steps after a 16-token prompt and {WarmupSteps} warm-up steps (medians per step)");
        print($"tokens/s without the profiler: {plainTokensPerSecond:F1} ({1e6 / plainTokensPerSecond:F0} us per step); with it: {1e6 / walls.Average():F1}");
        print("| per step | median us | share of the median wall time | fastest step, us | share of its wall time |");
        print("| --- | --- | --- | --- | --- |");
        void Row(string what, double median, double best) => print($"| {what} | {median:F0} | {median / wall:P1} | {best:F0} | {best / bestWall:P1} |");
        Row("wall time of DecoderSession.Forward", wall, bestWall);
        Row("ORT's Run (model_run span)", run, bestRun);
        Row($"sum of kernel times ({steps[0].Kernels.Count} kernels)", kernels, bestKernels);
        Row("executor between kernels (Run - kernels)", run - kernels, bestRun - bestKernels);
        Row("outside the Run (binding, outputs, logits copy)", wall - run, bestWall - bestRun);
        print("");
        // Each node's median over the steps (a descheduled step moves no row), summed per group: the groups add up to the
        // sum of medians, the reference for the shares.
        var medians = steps.SelectMany(s => s.Kernels.GroupBy(k => k.Node).Select(g => g.Aggregate((a, b) => a with { Us = a.Us + b.Us })))
            .GroupBy(k => k.Node).Select(g => (Kernel: g.First(), Us: Median(g.Select(k => k.Us)), Count: g.Count() / (double)n)).ToList();
        double total = medians.Sum(m => m.Us);
        print($"Sum of each kernel's median over the steps: {total:F0} us ({total / wall:P1} of the median wall time).");
        print("");
        void Table(string title, Func<Kernel, string> key, int top)
        {
            var groups = medians.GroupBy(m => key(m.Kernel))
                .Select(g => (Key: g.Key, Us: g.Sum(m => m.Us), Count: g.Sum(m => m.Count)))
                .OrderByDescending(g => g.Us).ToList();
            print($"| {title} | kernels per step | us per step (sum of medians) | share | us per kernel |");
            print("| --- | --- | --- | --- | --- |");
            foreach (var g in groups.Take(top))
                print($"| {g.Key} | {g.Count:F0} | {g.Us:F0} | {g.Us / total:P1} | {g.Us / g.Count:F1} |");
            if (groups.Count > top)
            {
                var rest = groups.Skip(top).ToList();
                print($"| {rest.Count} more | {rest.Sum(g => g.Count):F0} | {rest.Sum(g => g.Us):F0} | {rest.Sum(g => g.Us) / total:P1} | |");
            }
            print("");
        }
        Table("op type", k => k.OpType, 16);
        Table("role", Role, 24);
    }

    /// <summary>
    /// What one more kernel costs a Run of ORT's sequential executor on this machine, without the profiler: a chain of
    /// <paramref name="kernels"/> Adds of a [1, width] vector (a kernel that computes next to nothing) against a chain of
    /// one, each the median of <paramref name="runs"/> Runs at 1 thread, the two interleaved. Returns microseconds per
    /// added kernel, and per Run of one kernel (the Run's own fixed cost, binding included).
    /// </summary>
    public static (double PerKernelUs, double OneKernelRunUs) DispatchCost(int kernels, int width, int runs)
    {
        byte[] Chain(int length)
        {
            var graph = new Afm.Onnx.Graph.OnnxGraphBuilder();
            var x = graph.Input("x", Afm.Onnx.Proto.TensorProto.Types.DataType.Float, 1L, (long)width);
            var step = graph.Initializer("step", Enumerable.Repeat(1e-3f, width).ToArray(), width);
            for (int i = 0; i < length; i++) x = graph.Node("Add", [x, step]);
            graph.Output(x, "y", Afm.Onnx.Proto.TensorProto.Types.DataType.Float, 1L, (long)width);
            var model = new Afm.Onnx.Proto.ModelProto { IrVersion = 8, ProducerName = "AfmToolchain.Bench", Graph = graph.Build("chain") };
            model.OpsetImport.Add(new Afm.Onnx.Proto.OperatorSetIdProto { Domain = "", Version = 17 });
            return Google.Protobuf.MessageExtensions.ToByteArray(model);
        }
        var sessions = new[] { Chain(1), Chain(kernels) }.Select(bytes =>
        {
            using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL };
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            return new Microsoft.ML.OnnxRuntime.InferenceSession(bytes, options);
        }).ToArray();
        var input = new float[width];
        using var value = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(input, [1, width]);
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        var times = new[] { new List<double>(), new List<double>() };
        try
        {
            for (int r = 0; r < runs + 10; r++)
                for (int s = 0; s < 2; s++)
                {
                    var clock = Stopwatch.StartNew();
                    using var outputs = sessions[s].Run(runOptions, ["x"], [value], ["y"]);
                    if (r >= 10) times[s].Add(clock.Elapsed.TotalMicroseconds);
                }
        }
        finally
        {
            foreach (var session in sessions) session.Dispose();
        }
        double one = times[0].Order().ElementAt(runs / 2), many = times[1].Order().ElementAt(runs / 2);
        return ((many - one) / (kernels - 1), one);
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
