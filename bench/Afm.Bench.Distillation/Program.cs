using System.Diagnostics;
using System.Globalization;
using Afm.Bench.Distillation;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training;
using Afm.Training.Distillation;
using Afm.Training.Stages;

// The AFM on-device recipe on the sample data, side by side in one run:
//   1. a larger teacher (the sample's shapes with a 1024-wide FFN instead of 352) trained on the sample's core data;
//   2. the sample-shaped student trained for the same tokens: alone from random init; distilled towards the teacher's
//      top-1 (Distill="top1", the AFM report's recipe) and towards the teacher's whole distribution
//      (Distill="distribution", temperature 1), each at teacher weight 0.9 (the report's) and 0.5; alone from the teacher
//      pruned to FFN 352; and from the pruned teacher with the distillation setting whose validation loss was lowest
//      above (chosen by this run's numbers, not fixed in advance; every setting's number is printed).
// Validation loss is the plain next-token loss on the sample's core validation split in every case; top-1 accuracy
// is measured on the same sequences. Finished runs are kept under the temp folder and reused by a later run with the
// same arguments (the trainer skips a stage whose checkpoint fingerprint matches), so the slow teacher trains once.
// Needs the sample's packed data: `dotnet build samples/tiny-afm/tiny-afm.afmproj` first.
// A student seed other than 1234 (same teacher) is a noise check of the distribution-target claim: it trains only the
// student alone and the two distribution settings, with that seed's initialization and data order.
// Usage: dotnet run -c Release --project bench/Afm.Bench.Distillation [teacherTokens=600k] [studentTokens=150k] [dataDir] [studentSeed=1234]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
TorchRuntime.PrepareProcess();

long teacherTokens = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 600_000;
long studentTokens = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 150_000;
string dataDirectory = args.Length > 2 && args[2].Length > 0 ? args[2] : Path.Combine(RepositoryRoot(), "samples", "tiny-afm", "obj", "Debug", "afm", "data");
const int TeacherSeed = 1234;
int studentSeed = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : TeacherSeed;
bool seedCheck = studentSeed != TeacherSeed;
if (!File.Exists(Path.Combine(dataDirectory, "index.json")))
{
    Console.Error.WriteLine($"No packed sample data at {dataDirectory}. Run `dotnet build samples/tiny-afm/tiny-afm.afmproj` first, or pass the data folder.");
    return 1;
}

ArchitectureSpec Architecture(int ffn) => new()
{
    ModelDim = 128, Layers = 4, Heads = 4, KvHeads = 2, FfnDim = ffn, VocabSize = 2048, RopeBase = 500000,
    TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 128, NormEpsilon = 1e-5,
};
TrainingStageSpec Core(long tokens) => new()
{
    // The sample's core stage (sequence 128, batch 16, lr 3e-3, cosine to 0.1), for the given tokens.
    Name = "core", Kind = StageKind.Pretrain, Tokens = tokens, SequenceLength = 128, BatchSize = 16, LearningRate = 3e-3,
    WarmupSteps = 30, FinalLearningRateRatio = 0.1, Schedule = LearningRateSchedule.Cosine, WeightDecay = 0.1, GradientClip = 1.0,
    RopeBase = 500000, Mix = [], EvalEvery = (int)Math.Max(1, tokens / 2048 / 5),
};
ModelSpec Spec(string name, int ffn, long tokens, int seed) => new()
{
    ProjectPath = $"/bench/{name}.afmproj", Name = name, Version = "0.0.1", Seed = seed, Threads = 2, Architecture = Architecture(ffn),
    Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = 2048, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
    Corpora = [], EvalSets = [], TrainingStages = [Core(tokens)], ValidationFraction = 0.05,
};

ModelSpec teacherSpec = null!;
var opened = new List<IPackedSequences>();
IPackedSequences Open(string stage, string split)
{
    var sequences = LossMaskedSequences.Open(dataDirectory, stage, split);
    opened.Add(sequences);
    return sequences;
}
string scratch = Path.Combine(Path.GetTempPath(), "afm-bench-distillation", $"t{teacherTokens}-s{studentTokens}");
var validation = Open("core", DataSplit.Validation);
(double Loss, double Accuracy, double Seconds, string Weights) Train(string name, ModelSpec spec, TeacherSource? teacher)
{
    var clock = Stopwatch.StartNew();
    // Students of another seed train in their own folder; the teacher is the same for every seed.
    string folder = spec.Seed == TeacherSeed || spec == teacherSpec ? name : Path.Combine($"student seed {spec.Seed}", name);
    var report = Trainer.Train(spec, Open, Path.Combine(scratch, folder), teacher: teacher);
    double loss = report.Stages[^1].FinalValidationLoss!.Value;
    double accuracy = Accuracy.TopOne(spec.Architecture, report.FinalWeightsPath, validation);
    bool cached = report.Timings!.Stages.All(t => t.Skipped);
    Console.WriteLine($"  {name,-36} {spec.Architecture.FfnDim,5} ffn  {report.ParameterCount,10:N0} params  {report.Stages[^1].Tokens,9:N0} tokens  " +
                      $"validation loss {loss:0.0000}  top-1 accuracy {accuracy:P2}  " + (cached ? "(trained by an earlier run)" : $"({clock.Elapsed.TotalSeconds:0}s)"));
    return (loss, accuracy, cached ? double.NaN : clock.Elapsed.TotalSeconds, report.FinalWeightsPath);
}

Console.WriteLine($"Afm.Bench.Distillation: 2 threads, {Environment.ProcessorCount} logical CPUs; shared machine, times are under contention (losses are not: same seed, same bytes).");
Console.WriteLine($"data: {dataDirectory} (stage core, 128 tokens per sequence)");
teacherSpec = Spec("teacher", 1024, teacherTokens, TeacherSeed);
var teacher = Train("teacher", teacherSpec, null);
TeacherSource Teacher(Setting setting, TeacherInit init) =>
    new(new TeacherSpec { ProjectPath = teacherSpec.ProjectPath, Weight = setting.Weight, Init = init, Distill = setting.Distill }, teacherSpec.Architecture, teacher.Weights);
// Run folders keep the names earlier versions of this bench gave them, so their finished runs are reused.
string Folder(Setting setting, bool pruned) =>
    (pruned ? "pruned init + " : "student + ") + (setting.Distill == DistillTarget.Top1 ? "teacher" : "distribution") + $" (w {setting.Weight:0.0#})";

var student = Spec("student", 352, studentTokens, studentSeed);
var alone = Train("student alone", student, null);
Setting[] settings = [new(DistillTarget.Top1, 0.9), new(DistillTarget.Top1, 0.5), new(DistillTarget.Distribution, 0.9), new(DistillTarget.Distribution, 0.5)];
if (seedCheck) settings = settings.Where(s => s.Distill == DistillTarget.Distribution).ToArray();
var distilled = settings.Select(s => (Setting: s, Run: Train(Folder(s, pruned: false), student, Teacher(s, TeacherInit.None)))).ToList();
var best = distilled.MinBy(d => d.Run.Loss);
var pruned = seedCheck ? null : new[]
{
    ("pruned init, no teacher", Train("pruned init, no teacher (w 0)", student, Teacher(new(DistillTarget.Top1, 0.0), TeacherInit.PruneFfn))),
    ($"pruned init + {best.Setting} (best above)", Train(Folder(best.Setting, pruned: true), student, Teacher(best.Setting, TeacherInit.PruneFfn))),
};

Console.WriteLine();
Console.WriteLine($"teacher (ffn 1024): validation loss {teacher.Loss:0.0000}, top-1 accuracy {teacher.Accuracy:P2}");
Console.WriteLine($"{$"student (ffn 352, seed {studentSeed}), same tokens",-50} {"val loss",9} {"/ alone",8} {"delta",9} {"top-1 acc",10}");
void Row(string label, (double Loss, double Accuracy, double Seconds, string Weights) run) =>
    Console.WriteLine($"{label,-50} {run.Loss,9:0.0000} {run.Loss / alone.Loss,8:0.000} {run.Loss - alone.Loss,9:+0.0000;-0.0000;0.0000} {run.Accuracy,10:P2}");
Row("alone (random init, no teacher)", alone);
foreach (var (setting, run) in distilled) Row($"random init + {setting}", run);
foreach (var (label, run) in pruned ?? []) Row(label, run);
var winners = distilled.Where(d => d.Run.Loss < alone.Loss).Select(d => $"{d.Setting} ({d.Run.Loss - alone.Loss:+0.0000;-0.0000} nats/token)").ToList();
Console.WriteLine(winners.Count > 0
    ? $"from random init, lower validation loss than alone: {string.Join(", ", winners)}"
    : "from random init, no distillation setting reaches a lower validation loss than the student alone");
foreach (var (setting, run) in distilled.Where(d => double.IsFinite(d.Run.Seconds / alone.Seconds)))
    Console.WriteLine($"teacher forward cost: {setting} run time / plain run time {run.Seconds / alone.Seconds:0.00}x (under contention)");
Console.WriteLine($"runs kept in {scratch} (delete it to train everything again)");
foreach (var sequences in opened) (sequences as IDisposable)?.Dispose();
return 0;

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "AfmToolchain.sln"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}

/// <summary>One distillation setting of the bench: what the teacher contributes and with which weight.</summary>
internal readonly record struct Setting(DistillTarget Distill, double Weight)
{
    public override string ToString() => $"{(Distill == DistillTarget.Top1 ? "top-1" : "distribution")} (w {Weight:0.0#})";
}
