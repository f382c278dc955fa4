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
//   2. the sample-shaped student trained for the same tokens: alone from random init; distilled (teacher weight 0.9,
//      the AFM report's, and 0.5) from random init; alone from the teacher pruned to FFN 352; distilled from the pruned teacher.
// Validation loss is the plain next-token loss on the sample's core validation split in every case; top-1 accuracy
// is measured on the same sequences. Finished runs are kept under the temp folder and reused by a later run with the
// same arguments (the trainer skips a stage whose checkpoint fingerprint matches), so the slow teacher trains once.
// Needs the sample's packed data: `dotnet build samples/tiny-afm/tiny-afm.afmproj` first.
// Usage: dotnet run -c Release --project bench/Afm.Bench.Distillation [teacherTokens=600k] [studentTokens=150k] [dataDir]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
TorchRuntime.PrepareProcess();

long teacherTokens = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 600_000;
long studentTokens = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 150_000;
string dataDirectory = args.Length > 2 ? args[2] : Path.Combine(RepositoryRoot(), "samples", "tiny-afm", "obj", "Debug", "afm", "data");
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
ModelSpec Spec(string name, int ffn, long tokens) => new()
{
    ProjectPath = $"/bench/{name}.afmproj", Name = name, Version = "0.0.1", Seed = 1234, Threads = 2, Architecture = Architecture(ffn),
    Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = 2048, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
    Corpora = [], EvalSets = [], Stages = [Core(tokens)], ValidationFraction = 0.05,
};

var opened = new List<IPackedSequences>();
IPackedSequences Open(string stage, string split)
{
    var sequences = LossMaskedSequences.Open(dataDirectory, stage, split == Trainer.ValidationSplit ? "valid" : split);
    opened.Add(sequences);
    return sequences;
}
string scratch = Path.Combine(Path.GetTempPath(), "afm-bench-distillation", $"t{teacherTokens}-s{studentTokens}");
var validation = Open("core", Trainer.ValidationSplit);
(double Loss, double Seconds, string Weights) Train(string name, ModelSpec spec, TeacherSource? teacher)
{
    var clock = Stopwatch.StartNew();
    var report = Trainer.Train(spec, Open, Path.Combine(scratch, name), teacher: teacher);
    double loss = report.Stages[^1].FinalValidationLoss!.Value;
    double accuracy = Accuracy.TopOne(spec.Architecture, report.FinalWeightsPath, validation);
    bool cached = report.Timings!.Stages.All(t => t.Skipped);
    Console.WriteLine($"  {name,-30} {spec.Architecture.FfnDim,5} ffn  {report.ParameterCount,10:N0} params  {report.Stages[^1].Tokens,9:N0} tokens  " +
                      $"validation loss {loss:0.0000}  top-1 accuracy {accuracy:P2}  " + (cached ? "(trained by an earlier run)" : $"({clock.Elapsed.TotalSeconds:0}s)"));
    return (loss, cached ? double.NaN : clock.Elapsed.TotalSeconds, report.FinalWeightsPath);
}

Console.WriteLine($"Afm.Bench.Distillation: 2 threads, {Environment.ProcessorCount} logical CPUs; shared machine, times are under contention (losses are not: same seed, same bytes).");
Console.WriteLine($"data: {dataDirectory} (stage core, 128 tokens per sequence)");
var teacherSpec = Spec("teacher", 1024, teacherTokens);
var teacher = Train("teacher", teacherSpec, null);
TeacherSource Teacher(double weight, TeacherInit init) =>
    new(new TeacherSpec { ProjectPath = teacherSpec.ProjectPath, Weight = weight, Init = init }, teacherSpec.Architecture, teacher.Weights);

var student = Spec("student", 352, studentTokens);
var alone = Train("student alone", student, null);
var distilled = Train("student + teacher (w 0.9)", student, Teacher(0.9, TeacherInit.None));
var distilledHalf = Train("student + teacher (w 0.5)", student, Teacher(0.5, TeacherInit.None));
var prunedAlone = Train("pruned init, no teacher (w 0)", student, Teacher(0.0, TeacherInit.PruneFfn));
var prunedDistilled = Train("pruned init + teacher (w 0.9)", student, Teacher(0.9, TeacherInit.PruneFfn));

Console.WriteLine($"distilled (w 0.9) / alone validation loss: {distilled.Loss / alone.Loss:0.000} ({distilled.Loss - alone.Loss:+0.0000;-0.0000} nats/token)");
Console.WriteLine($"distilled (w 0.5) / alone validation loss: {distilledHalf.Loss / alone.Loss:0.000} ({distilledHalf.Loss - alone.Loss:+0.0000;-0.0000} nats/token)");
Console.WriteLine($"pruned init / random init (no teacher): {prunedAlone.Loss / alone.Loss:0.000} ({prunedAlone.Loss - alone.Loss:+0.0000;-0.0000} nats/token)");
Console.WriteLine($"pruned init + teacher / alone: {prunedDistilled.Loss / alone.Loss:0.000} ({prunedDistilled.Loss - alone.Loss:+0.0000;-0.0000} nats/token)");
if (double.IsFinite(distilled.Seconds / alone.Seconds))
    Console.WriteLine($"teacher forward cost: distilled run time / plain run time {distilled.Seconds / alone.Seconds:0.00}x (under contention)");
Console.WriteLine($"runs kept in {scratch} (delete it to train everything again)");
foreach (var sequences in opened) (sequences as IDisposable)?.Dispose();
return 0;

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "AfmToolchain.sln"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}
