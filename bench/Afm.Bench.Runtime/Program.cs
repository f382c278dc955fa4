using System.Diagnostics;
using Afm.Bench.Runtime;
using Afm.Runtime;
using Afm.Serving;
using Afm.Runtime.Sessions;

// Usage: dotnet run -c Release --project bench/Afm.Bench.Runtime [artifact.afmpkg] [decode-tokens] [threads]
// Default artifact: the sample (build it first: dotnet build samples/tiny-afm/tiny-afm.afmproj).
if (args.Length > 0 && args[0] == WeightExpansionBench.ChildFlag) return WeightExpansionBench.Measure(args);
// dotnet run -c Release --project bench/Afm.Bench.Runtime -- --batching [artifact.afmpkg] [threads] [rounds] [batch-wait-ms]: only the batching comparison.
if (args.Length > 0 && args[0] == "--batching")
    return await Batching(args.Length > 1 ? args[1] : null, args.Length > 2 ? int.Parse(args[2]) : 2, args.Length > 3 ? int.Parse(args[3]) : 2,
        args.Length > 4 ? double.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : null);
// dotnet run -c Release --project bench/Afm.Bench.Runtime -- --structured [artifact.afmpkg] [tokens] [rounds]: only the cost of JSON-constrained decoding.
if (args.Length > 0 && args[0] == "--structured")
{
    var path = args.Length > 1 ? args[1] : Path.Combine(FindRoot(), "samples", "tiny-afm", "bin", "Debug", "tiny-afm.0.1.0.afmpkg");
    using var structured = AfmModel.Load(path, new RuntimeOptions { IntraOpThreads = 1 });
    StructuredOutputBench.Run(structured, args.Length > 2 ? int.Parse(args[2]) : 128, args.Length > 3 ? int.Parse(args[3]) : 3);
    Console.WriteLine($"load average: {BatchingBench.LoadAverage()}");
    return 0;
}
// dotnet run -c Release --project bench/Afm.Bench.Runtime -- --prompt-cache [artifact.afmpkg] [system-tokens] [turns] [rounds]: only time to first token with and without the prompt cache.
if (args.Length > 0 && args[0] == "--prompt-cache")
{
    var path = args.Length > 1 ? args[1] : Path.Combine(FindRoot(), "samples", "tiny-afm", "bin", "Debug", "tiny-afm.0.1.0.afmpkg");
    using var chat = AfmModel.Load(path, new RuntimeOptions { IntraOpThreads = 1 });
    PromptCacheBench.Run(chat, args.Length > 2 ? int.Parse(args[2]) : 280, args.Length > 3 ? int.Parse(args[3]) : 8, args.Length > 4 ? int.Parse(args[4]) : 5);
    Console.WriteLine($"load average: {BatchingBench.LoadAverage()}");
    return 0;
}
// dotnet run -c Release --project bench/Afm.Bench.Runtime -- --decode [artifact.afmpkg] [decode-tokens] [threads]: only ORT vs TorchSharp decode.
bool decodeOnly = args.Length > 0 && args[0] == "--decode";
if (decodeOnly) args = args[1..];
Afm.Training.TorchRuntime.PrepareProcess();
var root = FindRoot();
var artifact = args.Length > 0 ? args[0] : Path.Combine(root, "samples", "tiny-afm", "bin", "Debug", "tiny-afm.0.1.0.afmpkg");
int tokens = args.Length > 1 ? int.Parse(args[1]) : 64;
int threads = args.Length > 2 ? int.Parse(args[2]) : 2;
const string prompt = "Once upon a time";

Console.WriteLine($"artifact: {artifact}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {threads} threads for both runtimes (numbers taken on a shared, busy machine)");
using var model = AfmModel.Load(artifact, new RuntimeOptions { IntraOpThreads = threads });

var decode = DecodeBench.Run(model, model.ArtifactDirectory, prompt, tokens, threads);
Console.WriteLine($"decode, greedy, {decode.Tokens} tokens after \"{prompt}\", both runtimes on the {decode.Weights} weights:");
Console.WriteLine($"  ONNX Runtime (KV cache)        {decode.OrtTokensPerSecond,10:0.0} tokens/s");
Console.WriteLine($"  TorchSharp eager (no KV cache) {decode.TorchTokensPerSecond,10:0.0} tokens/s");
Console.WriteLine($"  ratio ORT / TorchSharp         {decode.OrtTokensPerSecond / decode.TorchTokensPerSecond,10:0.00}x   (target >= 3x)");
Console.WriteLine($"  same greedy tokens             {decode.SameTokens}{(decode.FirstDifference is { } d ? $" (first difference at token {d})" : "")}");
Console.WriteLine($"peak RSS, {decode.Weights.Split(' ')[0]} artifact: {decode.OrtOnlyPeakMiB:0} MiB with ONNX Runtime only; {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):0} MiB once TorchSharp is loaded too");
if (decodeOnly)
{
    Console.WriteLine($"load average: {BatchingBench.LoadAverage()}");
    return 0;
}

// The sample's build outputs sit beside its artifact: bin/<Configuration>/x.afmpkg -> obj/<Configuration>/afm.
var configuration = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(artifact)))!;
var intermediate = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(artifact))!)!)!, "obj", configuration, "afm");
if (File.Exists(Path.Combine(intermediate, "train", "model.safetensors")))
{
    var scratch = Path.Combine(Path.GetTempPath(), "afm-bench-runtime", Environment.ProcessId.ToString());
    using var cleanup = new DeleteOnDispose(scratch);
    var graphs = PalettizedSample.Build(intermediate, scratch);
    Console.WriteLine($"compressed weights: the sample quantized in process with the design card's plan ({graphs.BitsPerWeight:0.00} bits per quantized weight, int8 embedding; {graphs.QuantizeSeconds:0} s), one child process per row (ORT only):");
    Console.WriteLine($"  {"graph",-11} {"expansion",-9} {"model.onnx",11} {"load",9} {"RSS base",9} {"after load",11} {"peak RSS",9} {"decode",13}");
    foreach (var m in WeightExpansionBench.Run(graphs, tokens, threads))
        Console.WriteLine($"  {m.Graph,-11} {m.Expansion,-9} {m.OnnxBytes / 1024.0,8:0} KiB {m.LoadMs,6:0} ms {m.BaselineMiB,5:0} MiB {m.AfterLoadMiB,7:0} MiB {m.PeakMiB,5:0} MiB {m.DecodeTokensPerSecond,7:0} tok/s");
    Console.WriteLine("  (expansion has no effect on the float graph: its rows show what disabling constant folding costs by itself)");
}
else Console.WriteLine($"compressed weights: not measured, {intermediate} has no trained weights (build the sample first)");

var lora = LoraBench.Run(model.ArtifactDirectory, Math.Min(tokens, model.Session.MaxSequenceLength - 8), threads);
Console.WriteLine($"LoRA inputs, decode of {lora.Tokens} tokens (the artifact's {lora.Weights} weights, three graphs/settings side by side):");
Console.WriteLine($"  graph without LoRA inputs      {lora.WithoutInputs,10:0.0} tokens/s");
Console.WriteLine($"  with LoRA inputs, no adapter   {lora.NoAdapter,10:0.0} tokens/s  ({lora.NoAdapter / lora.WithoutInputs:0.00}x)");
Console.WriteLine($"  with a rank-16 adapter active  {lora.Rank16Adapter,10:0.0} tokens/s  ({lora.Rank16Adapter / lora.WithoutInputs:0.00}x)");

var options = new ServerOptions { MaxConcurrent = 4, QueueLimit = 16 };
var load = await LoadTest.Run(model, requests: 200, clients: 16, maxTokens: 32, options);
Console.WriteLine($"load test: {load.Requests} streaming requests, 16 clients, 32 tokens, server max-concurrent {options.MaxConcurrent} queue {options.QueueLimit}:");
Console.WriteLine($"  statuses {Format(load.Statuses)}; 5xx: {load.Statuses.Where(s => s.Key >= 500).Sum(s => s.Value)}");
Console.WriteLine($"  latency p50 {load.P50Ms:0} ms, p99 {load.P99Ms:0} ms; first event p50 {load.TimeToFirstEventP50Ms:0} ms");
Console.WriteLine($"burst of {load.BurstSize} simultaneous requests: statuses {Format(load.BurstStatuses)}");
Console.WriteLine($"  after the burst: /healthz ok {load.HealthyAfter}, a completion succeeds {load.CompletesAfter}");

await Batching(artifact, threads, rounds: 1);
return 0;

// Batching on vs off in the server (BatchingBench). An artifact exported before the attention_mask input is re-exported
// from its own weights first (ReexportedArtifact), since its graph cannot batch.
static async Task<int> Batching(string? artifactPath, int threads, int rounds, double? batchWaitMs = null)
{
    artifactPath ??= Path.Combine(FindRoot(), "samples", "tiny-afm", "bin", "Debug", "tiny-afm.0.1.0.afmpkg");
    var scratch = Path.Combine(Path.GetTempPath(), "afm-bench-batching", Environment.ProcessId.ToString());
    using var cleanup = new DeleteOnDispose(scratch);
    var options = new RuntimeOptions { IntraOpThreads = threads };
    var model = AfmModel.Load(artifactPath, options);
    if (!model.Session.SupportsBatching)
    {
        model.Dispose();
        Console.WriteLine($"batching: {artifactPath} predates the attention_mask input; re-exported from its own weights for this comparison");
        model = AfmModel.Load(ReexportedArtifact.Create(artifactPath, scratch), options);
        // What the mask costs a caller that never batches: the same weights, one sequence, the mask left at its default.
        using var original = new DecoderSession(Path.Combine(scratch, ReexportedArtifact.OriginalGraph), options);
        using var current = new DecoderSession(Path.Combine(scratch, ReexportedArtifact.CurrentGraph), options);
        double before = 0, after = 0;
        for (int i = 0; i < 5; i++)
        {
            before = Math.Max(before, LoraBench.Decode(original, null, 64));
            after = Math.Max(after, LoraBench.Decode(current, null, 64));
        }
        Console.WriteLine($"  unbatched decode, 64 tokens, best of 5 interleaved: graph without the mask {before:0} tokens/s, with it (default) {after:0} tokens/s (x{after / before:0.00}); load average {BatchingBench.LoadAverage()}");
    }
    using (model)
    {
        Console.WriteLine($"batched decode steps, engine only (no HTTP, no sampling), 48 steps per sequence incl. each prefill, best of 3 interleaved; load average {BatchingBench.LoadAverage()}:");
        foreach (var row in BatchedStepBench.Run(model.Session, [1, 4, 8], steps: 48, repeats: 3))
            Console.WriteLine($"  {row.Sequences} sequences: separate runs {row.Separate,6:0} tokens/s, batched {row.Batched,6:0} tokens/s (x{row.Batched / row.Separate:0.00})");
        Console.WriteLine($"  load average after: {BatchingBench.LoadAverage()}");
        var wait = batchWaitMs is { } ms ? TimeSpan.FromMilliseconds(ms) : new ServerOptions().BatchWait;
        Console.WriteLine($"batching: streaming completions, 32 tokens, temperature 0.8, {threads} ORT threads, server max-concurrent 8; batching on = max batch 8 (batch wait {wait.TotalMilliseconds} ms), off = 1; load average {BatchingBench.LoadAverage()} (2 shared cores)");
        BatchingBench.Print(await BatchingBench.Run(model, [1, 4, 8], maxTokens: 32, rounds, wait));
    }
    return 0;
}

static string Format(Dictionary<int, int> statuses) => string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "AfmToolchain.sln"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}

/// <summary>Removes the bench's quantized weights and graphs when the run ends.</summary>
internal sealed class DeleteOnDispose(string directory) : IDisposable
{
    public void Dispose()
    {
        try { if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }
}
