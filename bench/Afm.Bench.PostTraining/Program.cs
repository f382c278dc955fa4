using System.Diagnostics;
using System.Globalization;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Data.Samples;
using Afm.Data.Tokenization;
using Afm.Training;
using Afm.Training.Stages;

// Post-training on the sample's notification summaries, through the real pipeline in process (sample generator ->
// tokenizer stage -> data stage -> Trainer.Train), side by side in one run:
//   core (pretrain on stories + notifications) -> sft (notification -> summary) -> rm-soft (reward, soft labels)
//   -> rm-plain (reward, SoftLabels=false: plain Bradley-Terry) -> dpo (against the sft model, scored by rm-soft).
// Prints each reward model's held-out pairwise accuracy overall and per level (goal >= 90%, and soft vs plain on the
// slightly-better pairs), and the dpo stage's held-out preference accuracy, implicit margins and the mean rm-soft reward
// of greedy answers to held-out prompts from the sft model (its reference) and from the dpo model.
// Stages whose checkpoint fingerprint matches are reused from an earlier run of the same arguments.
// Usage: dotnet run -c Release --project bench/Afm.Bench.PostTraining [coreTokens=300k] [sftTokens=200k] [rewardTokens=300k] [dpoTokens=100k]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
TorchRuntime.PrepareProcess();

long Arg(int i, long fallback) => args.Length > i ? long.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
long coreTokens = Arg(0, 300_000), sftTokens = Arg(1, 200_000), rewardTokens = Arg(2, 300_000), dpoTokens = Arg(3, 100_000);
string scratch = Path.Combine(Path.GetTempPath(), "afm-bench-posttraining", $"c{coreTokens}-s{sftTokens}-r{rewardTokens}-d{dpoTokens}");
string sample = Path.Combine(scratch, "sample");
SampleCorpusGenerator.Generate(sample, new SampleCorpusOptions());
string File(string name) => Path.Combine(sample, name);

const int Length = 128;
TrainingStageSpec Stage(string name, StageKind kind, long tokens, double lr, PreferenceStageSpec? preference = null) => new()
{
    Name = name, Kind = kind, Tokens = tokens, SequenceLength = Length, BatchSize = 16, LearningRate = lr,
    WarmupSteps = 10, FinalLearningRateRatio = 0.1, Schedule = LearningRateSchedule.Cosine, WeightDecay = 0.1, GradientClip = 1.0,
    RopeBase = 500000, EvalEvery = (int)Math.Max(1, tokens / (16 * Length) / 5),
    Mix = kind == StageKind.Pretrain ? [new MixEntry("notifications", 0.5), new MixEntry("stories", 0.5)] : [],
    Data = kind switch { StageKind.Pretrain => [], StageKind.Sft => [File("notifications.jsonl")], _ => [File("preferences.jsonl")] },
    PromptField = kind == StageKind.Sft ? "text" : "prompt", ResponseField = "summary",
    Preference = preference,
};
CorpusSpec Corpus(string name) => new() { Name = name, Files = [File(name + ".jsonl")], Format = CorpusFormat.JsonLines, TextField = "text" };
var spec = new ModelSpec
{
    ProjectPath = "/bench/posttraining.afmproj", Name = "posttraining", Version = "0.0.1", Seed = 1234, Threads = 2,
    // The sample's shapes (tiny-afm.afmproj).
    Architecture = new ArchitectureSpec
    {
        ModelDim = 128, Layers = 4, Heads = 4, KvHeads = 2, FfnDim = 352, VocabSize = 2048, RopeBase = 500000,
        TieEmbeddings = true, QkNorm = true, MaxSequenceLength = Length, NormEpsilon = 1e-5,
    },
    Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = 2048, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
    Corpora = [Corpus("notifications"), Corpus("stories")], EvalSets = [],
    // 20% held out: about 240 preference pairs, 60 per level, so per-level accuracies are not a handful of pairs.
    ValidationFraction = 0.2,
    TrainingStages =
    [
        Stage("core", StageKind.Pretrain, coreTokens, 3e-3),
        Stage("sft", StageKind.Sft, sftTokens, 2e-3),
        Stage("rm-soft", StageKind.Reward, rewardTokens, 1e-3, new PreferenceStageSpec()),
        Stage("rm-plain", StageKind.Reward, rewardTokens, 1e-3, new PreferenceStageSpec { SoftLabels = false }),
        Stage("dpo", StageKind.Dpo, dpoTokens, 1e-4, new PreferenceStageSpec { Beta = 0.1, RewardModel = "rm-soft" }),
    ],
};

Console.WriteLine($"CPU: {CpuModel()}, {Environment.ProcessorCount} cores, load {Load()} at start; threads {spec.Threads}");
var clock = Stopwatch.StartNew();
string tokenizer = Path.Combine(scratch, "tokenizer"), data = Path.Combine(scratch, "data");
if (!System.IO.File.Exists(Path.Combine(data, "index.json")))
{
    TokenizerStage.Run(spec, tokenizer);
    DataStage.Run(spec, tokenizer, data, Console.WriteLine);
}
var opened = new List<IDisposable>();
IPackedSequences Open(string stage, string split)
{
    var sequences = (IPackedSequences?)PreferencePairs.TryOpen(data, stage, split) ?? LossMaskedSequences.Open(data, stage, split);
    if (sequences is IDisposable d) opened.Add(d);
    return sequences;
}
var report = Trainer.Train(spec, Open, Path.Combine(scratch, "checkpoints"), line => { if (line.Contains("done in", StringComparison.Ordinal)) Console.WriteLine(line); });
foreach (var d in opened) d.Dispose();

Console.WriteLine();
foreach (var (stage, timing) in report.Stages.Zip(report.Timings!.Stages))
    Console.WriteLine($"{stage.Name,-9} {stage.Steps,5} steps  {(timing.Skipped ? "reused from an earlier run" : $"{timing.Seconds:0} s")}  final validation loss {stage.FinalValidationLoss:0.0000}");
Console.WriteLine();
Console.WriteLine("Held-out pairwise accuracy of the reward models (share of pairs with r(chosen) > r(rejected)):");
Console.WriteLine($"  {"level",-22} {"pairs",5} {"soft labels",12} {"plain BT",10}");
var soft = report.Stages.Single(s => s.Name == "rm-soft").Preference!;
var plain = report.Stages.Single(s => s.Name == "rm-plain").Preference!;
foreach (var level in soft.ByLevel)
{
    var other = plain.ByLevel.Single(l => l.Level == level.Level);
    Console.WriteLine($"  {level.Level,-22} {level.Pairs,5} {level.Accuracy,12:P1} {other.Accuracy,10:P1}   mean margin {level.MeanMargin:0.00} / {other.MeanMargin:0.00}");
}
Console.WriteLine($"  {"all",-22} {soft.HeldOutPairs,5} {soft.Accuracy,12:P1} {plain.Accuracy,10:P1}");
var dpo = report.Stages.Single(s => s.Name == "dpo").Preference!;
Console.WriteLine();
Console.WriteLine($"dpo (beta 0.1) vs its reference, the sft model: held-out preference accuracy {dpo.Accuracy:P1} over {dpo.HeldOutPairs} pairs, " +
                  $"mean implicit margin {dpo.MeanMargin:0.000} (chosen {dpo.MeanChosenReward:0.000}, rejected {dpo.MeanRejectedReward:0.000})");
Console.WriteLine($"mean rm-soft reward of greedy answers to {dpo.ScoredPrompts} held-out prompts: sft {dpo.MeanRewardReference:0.000}, dpo {dpo.MeanRewardTrained:0.000}");
Console.WriteLine($"wall {clock.Elapsed.TotalMinutes:0.0} min, load {Load()} at the end");
return 0;

static string CpuModel() => System.IO.File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
static string Load() => System.IO.File.ReadAllText("/proc/loadavg").Split(' ')[0];
