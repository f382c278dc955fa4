using System.Globalization;
using Afm.Bench.Peers;
using Afm.Interchange.Gguf;
using Afm.Core.Spec;

// dotnet run -c Release --project bench/Afm.Bench.Peers [-- tokens threads rounds]
if (args.Length > 0 && args[0] == Runtimes.ChildFlag) return Runtimes.Measure(args);

// dotnet run -c Release --project bench/Afm.Bench.Peers -- --fused [tokens threads rounds context]: standard vs fused graph only.
if (args.Length > 0 && args[0] == "--fused") return FusedGraphs(args[1..]);

// dotnet run -c Release --project bench/Afm.Bench.Peers -- --head [threads]: the tied head's MatMulNBits forms alone.
if (args.Length > 0 && args[0] == "--head")
{
    Console.WriteLine($"CPU: {Cpu()}; load average {File.ReadAllText("/proc/loadavg").Trim()}");
    HeadFormBench.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1, Console.WriteLine);
    Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
    return 0;
}

// dotnet run -c Release --project bench/Afm.Bench.Peers -- --decode [tokens rounds]: the 4-bit graph's decode forms beside llama.cpp Q4_0.
if (args.Length > 0 && args[0] == "--decode") return DecodeForms(args[1..]);

// dotnet run -c Release --project bench/Afm.Bench.Peers -- --decode-int8 [tokens rounds]: the int8-activation 4-bit graph at
// 1 thread by block length (128, 64, 32) and graph (standard, fused) beside llama.cpp Q4_0, with the roofline share.
if (args.Length > 0 && args[0] == "--decode-int8") return DecodeForms(args[1..], int8Only: true);

// dotnet run -c Release --project bench/Afm.Bench.Peers -- --decode-profile [tokens threads blocks ops]: ORT's profiler over the
// 4-bit int8-activation graph's decode steps (blocks: the projections' block length or `default`, the quantize stage's; ops:
// standard or fused).
if (args.Length > 0 && args[0] == "--decode-profile") return DecodeProfile(args[1..]);

int tokens = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 64;
int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
var root = FindRoot();
var peer = Path.Combine(root, "tests", "peers", "llama-cpp");
if (!Directory.Exists(Path.Combine(peer, "node_modules", "node-llama-cpp")))
{
    Console.Error.WriteLine($"llama.cpp's peer is not installed: run `npm ci --ignore-scripts` in {peer} (the Interchange tests do it on first use).");
    return 1;
}
var work = Path.Combine(Path.GetTempPath(), $"afm-bench-peers-{Environment.ProcessId}");
try
{
    Console.WriteLine($"CPU: {Cpu()}; {Environment.ProcessorCount} logical cores; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}; {threads} threads per runtime; {tokens} decode tokens at batch 1 after a 16-token prompt; best of {rounds} interleaved rounds");
    double bandwidth = Bandwidth.BytesPerSecond(threads);
    Console.WriteLine($"measured read bandwidth ({threads} threads, 1 GiB): {bandwidth / 1e9:F1} GB/s");
    foreach (var model in new[] { BenchModel.SampleShapes, BenchModel.Large })
    {
        var files = model.Write(Path.Combine(work, model.Name), threads, Console.WriteLine);
        var runs = new List<(string Runtime, string Weights, long BytesPerToken, Func<Measurement> Run)>
        {
            ("ours (ORT)", "float32 graph", files.FloatMatrixBytes, () => Runtimes.Ours(files.FloatOnnx, tokens, threads)),
            // ORT folds the palettized expansion into float matrices at load, so decode reads float bytes.
            ("ours (ORT)", $"palettized graph ({files.PalettizedBitsPerWeight:F2} bpw, expanded at load)", files.FloatMatrixBytes, () => Runtimes.Ours(files.PalettizedOnnx, tokens, threads)),
        };
        string[] forms = ["4-bit", "4-bit", "4-bit + 2-bit gate", "4-bit zero-point palettes"];
        foreach (var (resident, form) in files.NBits.Zip(forms))
            runs.Add(("ours (ORT)", $"MatMulNBits graph, {form} ({resident.BitsPerWeight:F2} bpw projections, int8 embedding, {resident.ActivationsName})",
                resident.BytesPerToken, () => Runtimes.Ours(resident.Onnx, tokens, threads)));
        runs.Add(("ONNX Runtime GenAI", "float32 graph", files.FloatMatrixBytes, () => Runtimes.GenAI(files.GenAIFolder, tokens, threads)));
        foreach (var (type, path) in files.Gguf)
            runs.Add(("llama.cpp", $"GGUF {GgufNames.TypeName(type).ToUpperInvariant()}", MatrixBytes(path), () => Runtimes.LlamaCpp(path, tokens, threads, peer)));
        // Rounds interleave the runtimes and each keeps its fastest: on a shared machine a burst of other work during one
        // child would otherwise decide the comparison. Peak RSS is the run's own (it hardly varies).
        var best = new Measurement?[runs.Count];
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < runs.Count; i++)
                if (runs[i].Run() is var m && (best[i] is null || m.TokensPerSecond > best[i]!.TokensPerSecond)) best[i] = m;
        var rows = runs.Select((r, i) => (r.Runtime, r.Weights, r.BytesPerToken, M: best[i]!)).ToList();
        Console.WriteLine();
        Console.WriteLine($"### {model.Name} (dim {model.Architecture.ModelDim}, {model.Architecture.Layers} layers, vocabulary {model.Architecture.VocabSize}, random weights)");
        Console.WriteLine("| runtime | weights | weight bytes read per token | decode tokens/s | peak RSS | share of the bandwidth roofline |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (runtime, weights, bytes, m) in rows)
            Console.WriteLine($"| {runtime} | {weights} | {bytes / 1048576.0:F1} MiB | {m.TokensPerSecond:F1} | {m.PeakRssBytes / 1048576.0:F0} MiB | {bytes * m.TokensPerSecond / bandwidth:P0} |");
        Acceptance(model.Name, rows[0].M, rows.Skip(2).Take(files.NBits.Count).Select(r => (r.Weights, r.BytesPerToken, r.M)).ToList(),
            rows.Single(r => r.Weights == "GGUF Q4_0").M, bandwidth);
    }
    return 0;
}
finally
{
    if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
}

// Issue #23's acceptance rows, each a ratio of two runs of this process: peak RSS of a compressed artifact at most 0.35x the
// float one's, decode at least the float graph's and llama.cpp Q4_0's, and the share of the bandwidth roofline.
static void Acceptance(string model, Measurement float32, IReadOnlyList<(string Weights, long BytesPerToken, Measurement M)> compressed, Measurement q40, double bandwidth)
{
    Console.WriteLine();
    Console.WriteLine($"Acceptance ({model}; float32 graph {float32.PeakRssBytes / 1048576.0:F0} MiB peak, {float32.TokensPerSecond:F1} tokens/s; llama.cpp Q4_0 {q40.TokensPerSecond:F1} tokens/s):");
    Console.WriteLine("| ours | peak RSS / float (<= 0.35) | decode / float (>= 1) | decode / llama.cpp Q4_0 (>= 1) | share of the bandwidth roofline |");
    Console.WriteLine("| --- | --- | --- | --- | --- |");
    foreach (var (weights, bytes, m) in compressed)
        Console.WriteLine($"| {weights} | {(double)m.PeakRssBytes / float32.PeakRssBytes:F2} | {m.TokensPerSecond / float32.TokensPerSecond:F2} | " +
            $"{m.TokensPerSecond / q40.TokensPerSecond:F2} | {bytes * m.TokensPerSecond / bandwidth:P0} |");
    Console.WriteLine($"load average after {model}: {File.ReadAllText("/proc/loadavg").Trim()}");
}

static long MatrixBytes(string gguf) => BenchModel.GgufMatrixBytes(gguf);

// Standard vs fused graph of our runtime (FusedGraphBench), on both bench models.
static int FusedGraphs(string[] args)
{
    int tokens = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 64;
    int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
    int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
    int? context = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : null;
    var work = Path.Combine(Path.GetTempPath(), $"afm-bench-fused-{Environment.ProcessId}");
    try
    {
        Console.WriteLine($"CPU: {Cpu()}; {Environment.ProcessorCount} logical cores; load average {File.ReadAllText("/proc/loadavg").Trim()}; {threads} ORT threads; {tokens} decode tokens at batch 1 after a 16-token prompt; context {context?.ToString(CultureInfo.InvariantCulture) ?? "the model's (512)"}; best of {rounds} interleaved rounds");
        Console.WriteLine("| model | graph | decode tokens/s | prefill 512 tokens | step at 10 | step at 256 | step at context - 8 | cache bytes at 10 / at full context |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var model in new[] { BenchModel.SampleShapes, BenchModel.Large })
            foreach (var row in FusedGraphBench.Run(model, context, Path.Combine(work, model.Name), tokens, threads, rounds))
                Console.WriteLine($"| {row.Model} | {row.Ops.Name()} | {row.DecodeTokensPerSecond:F1} | {row.PrefillMs:F0} ms | " +
                    string.Join(" | ", row.Steps.Select(s => $"{s.StepMs:F2} ms")) + $" | {row.CacheBytesAt10 / 1048576.0:F2} / {row.CacheBytesAtMax / 1048576.0:F1} MiB |");
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }
    finally
    {
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
    }
}

static string Cpu() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "AfmToolchain.sln"))) return dir.FullName;
    throw new InvalidOperationException("AfmToolchain.sln not found above " + AppContext.BaseDirectory);
}

static int DecodeForms(string[] args, bool int8Only = false)
{
    int tokens = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 128;
    int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
    var peer = Path.Combine(FindRoot(), "tests", "peers", "llama-cpp");
    var work = Path.Combine(Path.GetTempPath(), $"afm-bench-decode-{Environment.ProcessId}");
    try
    {
        Console.WriteLine($"CPU: {Cpu()}; {Environment.ProcessorCount} logical cores; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        double bandwidth = Bandwidth.BytesPerSecond(1);
        Console.WriteLine($"measured read bandwidth (1 thread, 1 GiB): {bandwidth / 1e9:F1} GB/s");
        if (int8Only) DecodeFormsBench.RunInt8(BenchModel.Large, Path.Combine(work, BenchModel.Large.Name), tokens, rounds, peer, bandwidth, Console.WriteLine);
        else DecodeFormsBench.Run(BenchModel.Large, Path.Combine(work, BenchModel.Large.Name), tokens, rounds, peer, Console.WriteLine);
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }
    finally
    {
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
    }
}

static int DecodeProfile(string[] args)
{
    int tokens = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 64;
    int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
    int? blocks = args.Length > 2 && args[2] != "default" ? int.Parse(args[2], CultureInfo.InvariantCulture) : null;
    var ops = args.Length > 3 ? OnnxOpsNames.Parse(args[3]) ?? throw new ArgumentException($"'{args[3]}' is not standard or fused.") : OnnxOps.Standard;
    var bench = BenchModel.Large;
    var work = Path.Combine(Path.GetTempPath(), $"afm-bench-decode-profile-{Environment.ProcessId}");
    try
    {
        Directory.CreateDirectory(work);
        Console.WriteLine($"CPU: {Cpu()}; {Environment.ProcessorCount} logical cores; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        var stored = bench.NBitsStored(bench.RandomWeights(seed: 1), work, "nbits4", _ => 4, blockSize: blocks);
        var onnx = Path.Combine(work, $"nbits4-{ops.Name()}-int8.onnx");
        File.WriteAllBytes(onnx, Afm.Onnx.Export.DecoderExporter.Export(stored.Graph(RuntimeActivations.Int8, ops), "bench"));
        DecodeProfileBench.Run(onnx, $"{bench.Name}, 4-bit MatMulNBits (blocks of {blocks?.ToString(CultureInfo.InvariantCulture) ?? "the quantize stage's choice"}), {ops.Name()} graph, int8 activations", tokens, threads, Console.WriteLine);
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }
    finally
    {
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
    }
}
