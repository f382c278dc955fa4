using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Afm.Training.Adapters;

// Adapters bench on the tiny-afm sample, measured side by side in one build of one project:
//   1. accuracy-recovery adapters at ranks 8, 16 and 32 on the sample quantized at TargetBitsPerWeight 3.7 (mixed 4/2-bit
//      palettization, int8 embedding): perplexity float / quantized / quantized+adapter and the share of the quantization
//      loss each recovers (target: >= 90% at rank 16);
//      beside the float control: the same adapters trained on the float model (FloatControl), so the part of the gain
//      that is extra training separates from the part that recovers quantization loss;
//   2. a rank-16 summarization feature adapter (notification text -> summary, the sample's notifications.jsonl) started
//      from the rank-16 recovery adapter vs from zero, same data, steps and learning rate: response perplexity on held-out examples.
// The project is a copy of samples/tiny-afm with those items added, built with `dotnet build` in a fixed folder, so a
// second run reuses the trained model and reruns only what changed.
// Usage: dotnet run -c Release --project bench/Afm.Bench.Adapters [-- <work folder> <recovery tokens> <feature tokens> <recovery lr> <feature lr> <target bits/weight>]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
string root = BenchRepository.FindRoot();
string work = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "afm-bench-adapters"));
string recoveryTokens = args.Length > 1 ? args[1] : "300k";
string featureTokens = args.Length > 2 ? args[2] : "100k";
string recoveryLr = args.Length > 3 ? args[3] : "2e-3";
string featureLr = args.Length > 4 ? args[4] : "2e-3";
string targetBits = args.Length > 5 ? args[5] : "3.7";

Directory.CreateDirectory(work);
foreach (var file in Directory.GetFiles(Path.Combine(root, "samples", "tiny-afm", "data")))
    CopyIfChanged(file, Path.Combine(work, "data", Path.GetFileName(file)));
WriteIfChanged(Path.Combine(work, "global.json"), $$"""
    { "sdk": { "version": "10.0.100", "rollForward": "latestMajor" }, "msbuild-sdks": { "Afm.Sdk": "{{BenchRepository.SdkVersion(root)}}" } }
    """);
WriteIfChanged(Path.Combine(work, "nuget.config"), $"""
    <?xml version="1.0" encoding="utf-8"?>
    <configuration><fallbackPackageFolders><add key="afm-sdk-source" value="{Path.Combine(root, "sdk", "local-feed")}" /></fallbackPackageFolders></configuration>
    """);
string sample = File.ReadAllText(Path.Combine(root, "samples", "tiny-afm", "tiny-afm.afmproj"));
string items = $"""
    <QuantizationPlan Include="device" TargetBitsPerWeight="{targetBits}" />
        <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="8;16;32" TrainingStage="continued" Tokens="{recoveryTokens}" BatchSize="8" LearningRate="{recoveryLr}" />
        <Adapter Include="summarize" Rank="16" InitFrom="recovery" Data="data/notifications.jsonl" PromptField="text" ResponseField="summary"
                 Tokens="{featureTokens}" SequenceLength="128" BatchSize="8" LearningRate="{featureLr}" />
        <Adapter Include="summarize-zero" Rank="16" Data="data/notifications.jsonl" PromptField="text" ResponseField="summary"
                 Tokens="{featureTokens}" SequenceLength="128" BatchSize="8" LearningRate="{featureLr}" />
    """;
string project = Path.Combine(work, "tiny-afm.afmproj");
WriteIfChanged(project, BenchProject.WithItems(sample, items));

Console.WriteLine($"work folder: {work}; machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} (shared machine: times are under contention; perplexities do not depend on load)");
var clock = Stopwatch.StartNew();
using (var build = Process.Start(new ProcessStartInfo("dotnet", ["build", project, "-nologo", "-v:m", "-tl:off"]) { WorkingDirectory = work })!)
{
    build.WaitForExit();
    if (build.ExitCode != 0) { Console.Error.WriteLine($"dotnet build failed ({build.ExitCode})"); return 1; }
}
Console.WriteLine($"build: {clock.Elapsed.TotalSeconds:0}s");

string afm = Path.Combine(work, "obj", "Debug", "afm");
var report = JsonSerializer.Deserialize<AdaptersReport>(File.ReadAllText(Path.Combine(afm, "adapters", "report.json")),
    new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
long quantizedBytes = new FileInfo(Path.Combine(afm, "quantize", "model.safetensors")).Length;
clock.Restart();
var control = FloatControl.Run(root, afm, Path.Combine(work, "float-control")).Adapters.ToDictionary(a => a.Name);
Console.WriteLine($"float control: {clock.Elapsed.TotalSeconds:0}s");
Console.WriteLine();
Console.WriteLine($"1. accuracy recovery on the {report.Base} base (TargetBitsPerWeight {targetBits}, {quantizedBytes:N0} bytes of quantized weights), {recoveryTokens} tokens, lr {recoveryLr};");
Console.WriteLine("   control: the same adapter trained on the float model. recovered = (q - q+a) / (q - f), the issue's formula;");
Console.WriteLine("   net of extra training = ((q - q+a) - (f - f+a)) / (q - f) = 1 - (q+a - f+a) / (q - f): the share of the quantization gap");
Console.WriteLine("   closed beyond what the same adapter gains on the float model (perplexities; both shares divide by q - f)");
Console.WriteLine("| adapter | rank | bytes | bytes / quantized base | ppl float (f) | ppl quantized (q) | q+adapter | f+adapter (control) | gap q - f | gap q+a - f+a | recovered | net of extra training |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
foreach (var a in report.Adapters.Where(a => a.Kind == "accuracy-recovery"))
{
    var c = control[a.Name];
    if (Math.Abs(c.BaseLoss - a.FloatLoss!.Value) > 1e-9) throw new InvalidOperationException($"{a.Name}: the control's float loss {c.BaseLoss} is not the build's {a.FloatLoss}.");
    double gap = a.BasePerplexity - a.FloatPerplexity!.Value;
    string net = gap > 0 ? $"{1 - (a.AdaptedPerplexity - c.AdaptedPerplexity) / gap:P1}" : "n/a (no loss)";
    Console.WriteLine($"| {a.Name} | {a.Rank} | {a.Bytes:N0} | {(double)a.Bytes / quantizedBytes:0.000} | {a.FloatPerplexity:0.0000} | {a.BasePerplexity:0.0000} | {a.AdaptedPerplexity:0.0000} | {c.AdaptedPerplexity:0.0000} | {gap:+0.0000;-0.0000} | {a.AdaptedPerplexity - c.AdaptedPerplexity:+0.0000;-0.0000} | {a.RecoveredShare:P1} | {net} |");
}

Console.WriteLine();
Console.WriteLine($"2. summarization feature adapter, rank 16, {featureTokens} tokens, lr {featureLr}: response perplexity on held-out examples");
Console.WriteLine("| adapter | starts from | base | at start | after training |");
Console.WriteLine("|---|---|---:|---:|---:|");
var features = report.Adapters.Where(a => a.Kind == "feature").ToList();
foreach (var a in features)
    Console.WriteLine($"| {a.Name} | {a.InitFrom ?? "zero"} | {a.BasePerplexity:0.000} | {Math.Exp(a.InitialLoss!.Value):0.000} | {a.AdaptedPerplexity:0.000} |");
if (features.FirstOrDefault(f => f.InitFrom is not null) is { } fromRecovery && features.FirstOrDefault(f => f.InitFrom is null) is { } fromZero)
    Console.WriteLine($"from recovery / from zero, final response perplexity: {fromRecovery.AdaptedPerplexity / fromZero.AdaptedPerplexity:0.000} (below 1: starting from recovery is better)");
return 0;

// Unchanged inputs keep their timestamps, so the build stays incremental between runs.
static void WriteIfChanged(string path, string text)
{
    if (File.Exists(path) && File.ReadAllText(path) == text) return;
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    File.WriteAllText(path, text);
}

static void CopyIfChanged(string source, string destination) => WriteIfChanged(destination, File.ReadAllText(source));
