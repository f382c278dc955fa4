using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Afm.Core.Spec;
using Afm.Training.Adapters;

// Recovery bench on real text (issue #22). A model of the sample's shape is trained by the toolchain on the King James
// Bible (model/kjv-recovery.afmproj, built once with `dotnet build` and cached in the work folder while the project is
// unchanged); then, per plan (TargetBitsPerWeight 3.7 and 2.5), the build's own `afm quantize` and `afm adapters` stages
// run on a copy of its spec.json with that plan and recovery adapters at ranks 8/16/32 for each objective (next-token,
// distill, mix), every one with Control="true" (the same adapter trained on the float model). The table is the adapters
// stage's own report: quantization loss, share, control gain and net share, with bootstrap intervals, on the validation
// split of the model's stage (held out from the adapters' training), plus KL(float || model) before and after.
// Usage: setup.sh [work folder]; then
//   dotnet run -c Release --project bench/Afm.Bench.Recovery [-- <work folder> <adapter tokens> <adapter lr> <plans, ;-separated>
//     <ranks, ;-separated> <objectives: next-token;distill;mix> <init: zero or error>]
// A plan is a target bits/weight, optionally with the grid tuning's steps: "3.7/t0" is 3.7 bpw without grid tuning (the
// quantizer's default is 80 steps), to see whether grid tuning and the adapter compete for the same error.
// (defaults: ${XDG_CACHE_HOME:-~/.cache}/afm-bench-recovery 100k 2e-3 3.7;2.5)
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
string root = BenchRepository.FindRoot();
// The model trains for ~17 min even on a quiet machine: it is cached in the user's cache folder (XDG), not /tmp.
string work = Path.GetFullPath(args.Length > 0 ? args[0] : BenchRepository.CacheFolder("recovery"));
string tokens = args.Length > 1 ? args[1] : "100k";
double lr = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 2e-3;
Plan[] plans = (args.Length > 3 ? args[3] : "3.7;2.5").Split(';').Select(Plan.Parse).ToArray();
int[] ranks = (args.Length > 4 ? args[4] : "8;16;32").Split(';').Select(int.Parse).ToArray();
(AdapterObjective Objective, double Weight)[] objectives = (args.Length > 5 ? args[5] : "next-token;distill;mix").Split(';').Select(o => o switch
{
    "next-token" => (AdapterObjective.NextToken, 0.0), "distill" => (AdapterObjective.Distill, 1.0), "mix" => (AdapterObjective.Mix, 0.5),
    _ => throw new ArgumentException($"objective '{o}': next-token, distill or mix"),
}).ToArray();
// How the adapters start (specs/adapters.md, Init): zero (B = 0) or error (the quantization error's best rank-r pair). The
// adapters keep their names (hence seeds and batch order) either way, so a zero and an error run differ in the start only.
AdapterInit init = (args.Length > 6 ? args[6] : "zero") switch
{
    "zero" => AdapterInit.Zero, "error" => AdapterInit.Error,
    var other => throw new ArgumentException($"init '{other}': zero or error"),
};

string corpus = Path.Combine(work, "data", "kjv.txt");
if (!File.Exists(corpus))
{
    Console.Error.WriteLine($"{corpus} is missing: run bench/Afm.Bench.Recovery/setup.sh {work} first (it installs bible-kjv-text).");
    return 1;
}
string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "unknown CPU";
Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {cpu}, {Environment.ProcessorCount} cores, load average {LoadAverage()} (shared machine: times are under contention; losses do not depend on load)");

// 1. The model: built with dotnet build, reused while kjv-recovery.afmproj is unchanged (the stamp holds its SHA-256).
string projectText = File.ReadAllText(Path.Combine(root, "bench", "Afm.Bench.Recovery", "model", "kjv-recovery.afmproj"));
string project = Path.Combine(work, "kjv-recovery.afmproj");
string afm = Path.Combine(work, "obj", "Release", "afm");
string stamp = Path.Combine(work, "model.stamp");
string projectSha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(projectText)));
var clock = Stopwatch.StartNew();
if (!File.Exists(stamp) || File.ReadAllText(stamp) != projectSha || !File.Exists(Path.Combine(afm, "train", "model.safetensors")))
{
    File.WriteAllText(project, projectText);
    File.WriteAllText(Path.Combine(work, "global.json"), $$"""
        { "sdk": { "version": "10.0.100", "rollForward": "latestMajor" }, "msbuild-sdks": { "Afm.Sdk": "{{BenchRepository.SdkVersion(root)}}" } }
        """);
    File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration><fallbackPackageFolders><add key="afm-sdk-source" value="{Path.Combine(root, "sdk", "local-feed")}" /></fallbackPackageFolders></configuration>
        """);
    if (Run("dotnet", ["build", project, "-c", "Release", "-nologo", "-v:m", "-tl:off"], work) != 0) return 1;
    File.WriteAllText(stamp, projectSha);
    Console.WriteLine($"model: built in {clock.Elapsed.TotalSeconds:0}s");
}
else Console.WriteLine($"model: reused from {work} (kjv-recovery.afmproj unchanged)");

// 2. Per plan: quantize, then the adapters with their controls, by the compiler this repository builds (Release).
// AFM_BENCH_COMPILER: another build of afm.dll (e.g. one built with -o while a run of this bench uses the Release folder).
string compiler = Environment.GetEnvironmentVariable("AFM_BENCH_COMPILER") ?? Path.Combine(root, "src", "Afm.Cli", "bin", "Release", "net10.0", "afm.dll");
if (!File.Exists(compiler)) { Console.Error.WriteLine($"{compiler} is missing: dotnet build src/Afm.Cli -c Release"); return 1; }
var spec = JsonSerializer.Deserialize<ModelSpec>(File.ReadAllText(Path.Combine(afm, "spec", "spec.json")), SpecJson.Options)!;
var template = new AdapterSpec
{
    Name = "", Item = "", Kind = AdapterKind.AccuracyRecovery, Rank = 0, Alpha = 0, Version = spec.Version, Tokens = TokenCount(tokens),
    SequenceLength = spec.CalibrationStage!.SequenceLength, BatchSize = 8, LearningRate = lr, WarmupSteps = 0, FinalLearningRateRatio = 0.1,
    TrainingStage = spec.CalibrationStage.Name, Control = true, Init = init, Location = spec.Adapters.FirstOrDefault()?.Location,
};
var adapters = objectives.SelectMany(o => ranks.Select(rank =>
{
    string item = o.Objective switch { AdapterObjective.Distill => "distill", AdapterObjective.Mix => "mix", _ => "next-token" };
    var a = template with { Name = $"{item}-r{rank}", Item = item, Rank = rank, Alpha = 2.0 * rank, Objective = o.Objective, Distillation = o.Weight };
    return a with { WarmupSteps = (int)Math.Min(100, a.Steps / 10) };
})).ToList();

// 2a. The trend: the quantize stage's defaults at 3.7 bpw on the checkpoint of every training stage before the last (each
// stage is one more pass over the Bible with its own annealed schedule), so the quantization loss is seen against the
// training tokens; the last stage's point is the 3.7 run below.
var trend = new List<(string Stage, long Tokens, JsonDocument Report)>();
long seen = 0;
foreach (var stage in spec.TrainingStages.SkipLast(1))
{
    seen += stage.Steps * stage.BatchSize * stage.SequenceLength;
    string run = Path.Combine(work, "runs", "trend", stage.Name);
    Directory.CreateDirectory(run);
    string specPath = Path.Combine(run, "spec.json");
    File.WriteAllText(specPath, SpecJson.Serialize(spec with { Quantization = spec.Quantization! with { TargetBitsPerWeight = 3.7 }, Adapters = [] }));
    string checkpoint = Path.Combine(afm, "train", Afm.Core.Artifacts.StageLayout.Train.Checkpoints, stage.Name);
    string report = Path.Combine(run, "quantize", "report.json");
    if (!File.Exists(report) || File.GetLastWriteTimeUtc(Path.Combine(checkpoint, "model.safetensors")) > File.GetLastWriteTimeUtc(report))
        if (Run("dotnet", [compiler, "quantize", "--spec", specPath, "--data", Path.Combine(afm, "data"), "--train", checkpoint, "--out", Path.Combine(run, "quantize")], work) != 0) return 1;
    trend.Add((stage.Name, seen, JsonDocument.Parse(File.ReadAllText(report))));
}

var reports = new List<(Plan Plan, double Bits, AdaptersReport Report, TimeSpan Time)>();
// Error-started runs in their own folders ("-error"); zero-started ones keep the folders of the runs before Init existed.
string RunFolder(Plan plan) => Path.Combine(work, "runs", FormattableString.Invariant($"{plan.Folder}-{tokens}-lr{lr:0.0e0}") + (init == AdapterInit.Error ? "-error" : ""));
// The quantized model depends on the plan only, not on the adapters' tokens or learning rate: one per plan, shared by their runs.
string QuantizeFolder(Plan plan) => Path.Combine(work, "runs", $"{plan.Folder}-quantize");
foreach (var plan in plans)
{
    // One folder per plan and adapter settings, so runs with other tokens or learning rates keep their adapters.
    string run = RunFolder(plan), quantized = QuantizeFolder(plan);
    Directory.CreateDirectory(run);
    Directory.CreateDirectory(quantized);
    var quantization = spec.Quantization! with { TargetBitsPerWeight = plan.Bits };
    var planSpec = spec with { Quantization = plan.TuningSteps is int t ? quantization with { TuningSteps = t } : quantization, Adapters = adapters };
    string specPath = Path.Combine(run, "spec.json"), quantizeSpecPath = Path.Combine(quantized, "spec.json");
    File.WriteAllText(specPath, SpecJson.Serialize(planSpec));
    // Written only when it changes: its time against the report's is what says the quantized model is stale.
    string quantizeSpec = SpecJson.Serialize(planSpec with { Adapters = [] });
    if (!File.Exists(quantizeSpecPath) || File.ReadAllText(quantizeSpecPath) != quantizeSpec) File.WriteAllText(quantizeSpecPath, quantizeSpec);
    clock.Restart();
    string[] inputs = ["--data", Path.Combine(afm, "data"), "--train", Path.Combine(afm, "train")];
    string quantizeReportPath = Path.Combine(quantized, "quantize", "report.json");
    if (!File.Exists(quantizeReportPath) || File.GetLastWriteTimeUtc(quantizeSpecPath) > File.GetLastWriteTimeUtc(quantizeReportPath)
        || File.GetLastWriteTimeUtc(Path.Combine(afm, "train", "model.safetensors")) > File.GetLastWriteTimeUtc(quantizeReportPath))
        if (Run("dotnet", [compiler, "quantize", "--spec", quantizeSpecPath, .. inputs, "--out", Path.Combine(quantized, "quantize")], work) != 0) return 1;
    // The stage reuses an adapter whose fingerprint (settings, base, data) is unchanged: a rerun trains only what changed.
    if (Run("dotnet", [compiler, "adapters", "--spec", specPath, .. inputs, "--tokenizer", Path.Combine(afm, "tokenizer"), "--quantize", Path.Combine(quantized, "quantize"),
            "--out", Path.Combine(run, "adapters")], work) != 0) return 1;
    using var quantizeReport = JsonDocument.Parse(File.ReadAllText(quantizeReportPath));
    double bits = quantizeReport.RootElement.GetProperty("totals").GetProperty("bitsPerWeight").GetDouble();
    var report = JsonSerializer.Deserialize<AdaptersReport>(File.ReadAllText(Path.Combine(run, "adapters", "report.json")), SpecJson.Options)!;
    reports.Add((plan, bits, report, clock.Elapsed));
}

Console.WriteLine();
Console.WriteLine($"Recovery adapters, {tokens} tokens each ({adapters[0].Steps} steps x 8 x {template.SequenceLength}), lr {lr:0.0e0}, alpha 2 x rank, from {template.InitName}, every one with its float control;");
Console.WriteLine("nats/token on the stage's validation split [95% bootstrap interval]; q = quantized base, a = adapter, f = float, f+a = control;");
Console.WriteLine("KL(f‖q+a) at step 0 is KL(f‖q) from zero, the closed form's from the error.");
Console.WriteLine("| plan | adapter | L(f) | L(q) | L(q+a) | L(f+a) | quantization loss L(q)-L(f) | KL(f‖q) | KL(f‖q+a) step 0 | KL(f‖q+a) | share | control gain | net of control |");
Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
foreach (var (plan, bits, report, time) in reports)
{
    foreach (var a in report.Adapters)
    {
        var m = a.Recovery!;
        Console.WriteLine($"| {bits:0.000} bpw ({plan}) | {a.Name} | {a.FloatLoss:0.0000} | {a.BaseLoss:0.0000} | {a.AdaptedLoss:0.0000} | {a.ControlLoss:0.0000} | " +
            $"{RecoveryText.Loss(m)} | {a.BaseDivergence:0.00000} | {a.InitialDivergence ?? a.BaseDivergence:0.00000} | {a.AdaptedDivergence:0.00000} | {RecoveryText.Share(m)} | {RecoveryText.ControlGain(m)} | {RecoveryText.NetShare(m)} |");
    }
}
Console.WriteLine();
Console.WriteLine("Quantization loss against training tokens (3.7 bpw, the quantizer's defaults; the last stage's validation split, 256 sequences):");
Console.WriteLine("| after stage | training tokens | bits/weight | L(float) | L(quantized) | KL(float‖quantized) | uniform baseline KL |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
var points = trend.Select(t => (t.Stage, t.Tokens, t.Report.RootElement)).ToList();
if (reports.FirstOrDefault(r => r.Plan == new Plan(3.7, null)) is { Report: not null } last)
    points.Add((spec.TrainingStages[^1].Name, seen + spec.TrainingStages[^1].Steps * spec.TrainingStages[^1].BatchSize * spec.TrainingStages[^1].SequenceLength,
        JsonDocument.Parse(File.ReadAllText(Path.Combine(QuantizeFolder(last.Plan), "quantize", "report.json"))).RootElement));
foreach (var (stage, seenTokens, r) in points)
{
    var p = r.GetProperty("perplexity");
    Console.WriteLine($"| {stage} | {seenTokens:N0} | {r.GetProperty("totals").GetProperty("bitsPerWeight").GetDouble():0.000} | {p.GetProperty("floatLoss").GetDouble():0.0000} | " +
        $"{p.GetProperty("quantizedLoss").GetDouble():0.0000} | {p.GetProperty("quantizedDivergence").GetDouble():0.00000} | {p.GetProperty("uniformBaselineDivergence").GetDouble():0.00000} |");
}
// The adapters stage's per-layer KL (measured with every control): which parts carry the loss, and what each adapter's own pairs win back.
foreach (var (plan, bits, _, _) in reports)
{
    string md = File.ReadAllText(Path.Combine(RunFolder(plan), "adapters", "report.md"));
    int at = md.IndexOf("### Per-layer KL", StringComparison.Ordinal);
    if (at >= 0) Console.WriteLine($"{Environment.NewLine}{bits:0.000} bpw ({plan}): {md[at..].Split(Environment.NewLine + Environment.NewLine + "#")[0].TrimEnd()}");
}
foreach (var (plan, bits, _, time) in reports) Console.WriteLine($"plan {plan}: {bits:0.000} bits/weight, quantize + adapters {time.TotalSeconds:0}s");
Console.WriteLine($"load average at the end {LoadAverage()}");
return 0;

static int Run(string file, string[] arguments, string directory)
{
    using var process = Process.Start(new ProcessStartInfo(file, arguments) { WorkingDirectory = directory })!;
    process.WaitForExit();
    if (process.ExitCode != 0) Console.Error.WriteLine($"{file} {string.Join(' ', arguments.Take(3))} ... failed ({process.ExitCode})");
    return process.ExitCode;
}

static long TokenCount(string text) =>
    text.EndsWith('k') ? long.Parse(text[..^1], CultureInfo.InvariantCulture) * 1000
    : text.EndsWith('M') ? long.Parse(text[..^1], CultureInfo.InvariantCulture) * 1_000_000
    : long.Parse(text, CultureInfo.InvariantCulture);

static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

/// <summary>A plan of the bench: target bits/weight and, when given ("3.7/t0"), the grid tuning's steps instead of the quantizer's default.</summary>
internal sealed record Plan(double Bits, int? TuningSteps)
{
    public static Plan Parse(string text)
    {
        var parts = text.Split("/t");
        return new Plan(double.Parse(parts[0], CultureInfo.InvariantCulture), parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : null);
    }

    /// <summary>"3.7", or "3.7-t0" with its tuning steps: the run folder's prefix (runs of earlier sessions keep their folders).</summary>
    public string Folder => FormattableString.Invariant($"{Bits:0.0##}") + (TuningSteps is int t ? $"-t{t}" : "");

    public override string ToString() => FormattableString.Invariant($"{Bits}") + (TuningSteps is int t ? $", {t} tuning steps" : "");
}
