using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Afm.Core.Artifacts;
using Afm.Core.IO;
using Afm.Interchange.HuggingFace;
using Afm.Training;
using Afm.Training.Stages;

// Afm.Bench.Import: a checkpoint of Qwen3-0.6B's shapes (28 layers, hidden 1024, 16 query / 8 kv heads of 128,
// FFN 3072, vocab 151,936, tied) with random bf16 weights in two shards, generated here (never committed), then each
// step of importing it as a BaseModel, every step in its own process so each peak RSS is that step's alone:
//   validate  open the checkpoint (config + every tensor's header checked) and hash its files (what afm validate does)
//   convert   write the decoder's fp32 weights file (what the train stage does first), a chunk at a time
//   load      build the decoder and read those weights into it (what the first TrainingStage starts from)
//   init      build the decoder only (its seeded init): the part of load that is not reading weights
// The goal (issue #15): loading holds at most 1.25x the fp32 size.
//   dotnet run -c Release --project bench/Afm.Bench.Import [-- <work folder>]
//   dotnet run -c Release --project bench/Afm.Bench.Import -- [--layers N] --on-device [--minutes N] [<work folder>]
// --layers N: the same shapes with N layers instead of 28 (a smaller model to profile on).
// builds a project on the same checkpoint with no TrainingStage, a palettization plan and a rank-16 recovery adapter
// through the package, and prints each stage's time and peak RSS (Pipeline.cs).
int layers = Qwen3Shapes.Layers;
if (args.Length >= 2 && args[0] == "--layers") (layers, args) = (int.Parse(args[1], CultureInfo.InvariantCulture), args[2..]);
if (args.Length >= 2 && args[0] == "--step") return Step(args[1], args[2], layers);
bool onDevice = args.Length > 0 && args[0] == "--on-device";
double limitMinutes = 120;
if (onDevice) args = args[1..];
if (onDevice && args.Length >= 2 && args[0] == "--minutes") (limitMinutes, args) = (double.Parse(args[1], CultureInfo.InvariantCulture), args[2..]);

var work = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "afm-bench-import"));
var checkpoint = Qwen3Shapes.Folder(work, layers);
Console.WriteLine($"CPU: {Cpu()}; {Environment.ProcessorCount} logical cores; load average at start {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
if (!File.Exists(Path.Combine(checkpoint, HfLayout.WeightsIndex)))
{
    var clock = Stopwatch.StartNew();
    Qwen3Shapes.Generate(checkpoint, layers, seed: 1);
    Console.WriteLine($"generated {checkpoint} in {clock.Elapsed.TotalSeconds:0.0} s");
}
long bf16Bytes = Directory.EnumerateFiles(checkpoint, "*.safetensors").Sum(f => new FileInfo(f).Length);
long parameters;
using (var opened = HfCheckpoint.Open(checkpoint)) parameters = opened.Map.OurTensors.Sum(p => p.Elements);
double fp32 = parameters * 4.0;
Console.WriteLine($"{parameters:N0} parameters; bf16 files {bf16Bytes / 1e9:0.000} GB; fp32 size {fp32 / 1e9:0.000} GB");
if (onDevice) return Pipeline.Run(work, checkpoint, Repository(), TimeSpan.FromMinutes(limitMinutes));
Console.WriteLine($"{"step",-9} {"seconds",8} {"peak RSS GB",12} {"x fp32",7}");
foreach (var step in new[] { "validate", "convert", "load", "init" })
{
    var result = RunStep(step, work, layers);
    Console.WriteLine($"{step,-9} {result.Seconds,8:0.00} {result.PeakRss / 1e9,12:0.000} {result.PeakRss / fp32,7:0.00}");
}
return 0;

static (double Seconds, long PeakRss) RunStep(string step, string work, int layers)
{
    var self = Environment.ProcessPath!;
    var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(Qwen3Shapes).Assembly.Location);
    foreach (var a in new[] { "--layers", layers.ToString(CultureInfo.InvariantCulture), "--step", step, work }) start.ArgumentList.Add(a);
    using var process = Process.Start(start)!;
    var output = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0) throw new InvalidOperationException($"step {step} failed:\n{output}");
    var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
    return (result.GetProperty("seconds").GetDouble(), result.GetProperty("peakRss").GetInt64());
}

static int Step(string step, string work, int layers)
{
    var checkpoint = Qwen3Shapes.Folder(work, layers);
    var converted = Path.Combine(work, $"{Path.GetFileName(checkpoint)}-decoder.safetensors");
    var clock = Stopwatch.StartNew();
    switch (step)
    {
        case "validate":
            var description = new HfBaseModelFormat().Describe(checkpoint);
            foreach (var file in description.Files) Hashing.Sha256OfFile(file);
            break;
        case "convert":
            using (var opened = HfCheckpoint.Open(checkpoint))
                opened.WriteDecoderWeights(converted, DecoderWeightsMetadata.For(opened.Config.Architecture, opened.Config.Architecture.RopeBase));
            break;
        case "load":
            TorchRuntime.UseThreads(2, Afm.Core.Spec.DeterminismMode.Machine);
            using (var model = Trainer.LoadModel(HfConfig.Read(checkpoint).Architecture, converted))
                GC.KeepAlive(model);
            break;
        case "init":
            // Building the decoder alone (its seeded init included): the part of "load" that is not reading weights.
            TorchRuntime.UseThreads(2, Afm.Core.Spec.DeterminismMode.Machine);
            using (var fresh = new Afm.Training.Model.AfmDecoder(HfConfig.Read(checkpoint).Architecture))
                GC.KeepAlive(fresh);
            break;
        default:
            throw new ArgumentException($"unknown step '{step}'");
    }
    Console.WriteLine(JsonSerializer.Serialize(new { seconds = clock.Elapsed.TotalSeconds, peakRss = PeakRss() }));
    return 0;
}

/// <summary>VmHWM: the most resident memory this process ever had.</summary>
static long PeakRss()
{
    var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}

static string Cpu() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "unknown";

static string Repository()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "AfmToolchain.sln"))) return dir.FullName;
    throw new InvalidOperationException("AfmToolchain.sln not found above " + AppContext.BaseDirectory);
}
