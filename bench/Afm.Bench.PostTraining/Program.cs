using System.Diagnostics;
using System.Globalization;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Data.Samples;
using Afm.Data.Tokenization;
using Afm.Runtime.Generation;
using Afm.Training;
using Afm.Training.PostTraining;
using Afm.Training.Stages;

// Post-training on the sample's notification summaries, through the real pipeline in process (sample generator ->
// tokenizer stage -> data stage -> Trainer.Train), side by side in one run:
//   core (pretrain on stories + notifications) -> sft (notification -> summary) -> rm-soft (reward, soft labels)
//   [-> rm-plain (reward, SoftLabels=false: plain Bradley-Terry), only with plain=true] -> dpo (against the sft model,
//   scored by rm-soft) -> rs-committee (rejection sampling: sft and dpo answer each prompt 4 times, rm-soft keeps the
//   best), rs-sft / rs-dpo (each member alone with 8 answers: the same number of answers per prompt as the committee);
//   and in a second project sharing the first stages' checkpoints: core -> sft -> rm-soft -> rl (MDLOO from the sft model).
// Prints each reward model's held-out pairwise accuracy overall and per level (goal >= 90%, and soft vs plain on the
// slightly-better pairs), the dpo stage's held-out preference accuracy and implicit margins, the committee's and each
// member's mean kept reward, and for the sft, dpo, rl and rejection-sampled models on every held-out prompt: the mean
// rm-soft reward of greedy answers, their exact match with the reference summary (the chosen response), and the
// next-token loss on the pretraining validation data.
// Stages whose checkpoint fingerprint matches are reused from an earlier run with the same core and sft budgets (cached in
// ${XDG_CACHE_HOME:-~/.cache}/afm-bench-posttraining).
// Usage: dotnet run -c Release --project bench/Afm.Bench.PostTraining [all|reward|forget] [coreTokens=300k] [sftTokens=200k]
//        [rewardTokens=300k] [dpoTokens=100k] [rsTokens=16k] [rlTokens=96k] [plain=false] [variants of reward or forget, ;-separated]
// "reward": only core, sft and reward-model variants (soft labels, plain Bradley-Terry, longer, lr 3e-3 and 3e-4, the last,
// likelihood and mean readouts, likelihood at lr 1e-4 and with plain Bradley-Terry), beside the sft
// model's likelihood ranking of the same pairs. "forget": dpo and rl at smaller learning rates, on every held-out prompt.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
TorchRuntime.PrepareProcess();

// The first argument may name one question instead of the whole run: "reward" trains core, sft and reward-model variants
// only (what limits held-out accuracy; soft vs plain); "all" (default) is the whole run below.
string question = args.Length > 0 && !char.IsDigit(args[0][0]) ? args[0] : "all";
string[] numbers = question == "all" && args.Length > 0 && char.IsDigit(args[0][0]) ? args : args.Skip(1).ToArray();
long Arg(int i, long fallback) => numbers.Length > i ? long.Parse(numbers[i], CultureInfo.InvariantCulture) : fallback;
long coreTokens = Arg(0, 300_000), sftTokens = Arg(1, 200_000), rewardTokens = Arg(2, 300_000), dpoTokens = Arg(3, 100_000);
long rsTokens = Arg(4, 16_384), rlTokens = Arg(5, 98_304);
bool withPlain = question == "reward" || numbers.Length > 6 && bool.Parse(numbers[6]);
// Checkpoints are reused by fingerprint: every question and variant of one core/sft budget shares one folder, kept in the
// user's cache folder (XDG) so a later question starts from the same core and sft models.
string scratch = Path.Combine(BenchRepository.CacheFolder("posttraining"), $"c{coreTokens}-s{sftTokens}");
string sample = Path.Combine(scratch, "sample");
SampleCorpusGenerator.Generate(sample, new SampleCorpusOptions());
string SampleFile(string name) => Path.Combine(sample, name);

const int Length = 128;
TrainingStageSpec Stage(string name, StageKind kind, long tokens, double lr, PreferenceStageSpec? preference = null) => new()
{
    Name = name, Kind = kind, Tokens = tokens, SequenceLength = Length, BatchSize = 16, LearningRate = lr,
    WarmupSteps = 10, FinalLearningRateRatio = 0.1, Schedule = LearningRateSchedule.Cosine, WeightDecay = 0.1, GradientClip = 1.0,
    RopeBase = 500000, EvalEvery = (int)Math.Max(1, tokens / (16 * Length) / 2),
    Mix = kind == StageKind.Pretrain ? [new MixEntry("notifications", 0.5), new MixEntry("stories", 0.5)] : [],
    Data = kind switch { StageKind.Pretrain => [], StageKind.Sft => [SampleFile("notifications.jsonl")], _ => [SampleFile("preferences.jsonl")] },
    PromptField = kind == StageKind.Sft ? "text" : "prompt", ResponseField = "summary",
    Preference = preference,
};
CorpusSpec Corpus(string name) => new() { Name = name, Files = [SampleFile(name + ".jsonl")], Format = CorpusFormat.JsonLines, TextField = "text" };
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
    TrainingStages = question switch { "reward" => [.. Stages(rl: false).Take(2)], "forget" => [.. Stages(rl: false).Take(3)], _ => Stages(rl: false) },
};
// A stage continues the last stage before it that is not a reward stage: dpo and rl must both start from sft, so rl is the
// next stage of a second project whose first stages are the same (same fingerprints: their checkpoints are reused).
var rlSpec = spec with { TrainingStages = Stages(rl: true) };
// The data stage packs every stage of both (a folder per set of stages: a new variant packs its pairs once).
// Question "reward": the same reward model with one thing changed at a time, each the next stage of its own project after
// core and sft (so each starts from sft, and each is reported as soon as it is trained).
TrainingStageSpec[] rewardVariants =
[
    Stages(rl: false)[2],
    Stage("rm-long", StageKind.Reward, 2 * rewardTokens, 1e-3, new PreferenceStageSpec()),
    Stages(rl: false)[3],
    Stage("rm-lr3e-3", StageKind.Reward, rewardTokens, 3e-3, new PreferenceStageSpec()),
    Stage("rm-lr3e-4", StageKind.Reward, rewardTokens, 3e-4, new PreferenceStageSpec()),
    // The readouts (specs/post-training.md): rm-soft has the default, likelihood (session 13); rm-last reads the
    // end-of-document only, as rm-soft did in sessions 9-12; rm-likelihood names the default explicitly (session 13's run).
    Stage("rm-last", StageKind.Reward, rewardTokens, 1e-3, new PreferenceStageSpec { Readout = RewardReadout.Last }),
    Stage("rm-likelihood", StageKind.Reward, rewardTokens, 1e-3, new PreferenceStageSpec { Readout = RewardReadout.Likelihood }),
    Stage("rm-mean", StageKind.Reward, rewardTokens, 1e-3, new PreferenceStageSpec { Readout = RewardReadout.Mean }),
    // The likelihood readout at a tenth of the learning rate: the decoder's own judgement is its reward at step 0, and a
    // smaller step keeps it while the head and the scale learn what to add.
    Stage("rm-likelihood-lr1e-4", StageKind.Reward, rewardTokens, 1e-4, new PreferenceStageSpec { Readout = RewardReadout.Likelihood }),
    // Soft labels vs plain Bradley-Terry with the likelihood readout.
    Stage("rm-likelihood-plain", StageKind.Reward, rewardTokens, 1e-3, new PreferenceStageSpec { Readout = RewardReadout.Likelihood, SoftLabels = false }),
];
// An eighth argument (after plain) names the variants "reward" and "forget" train, ';'-separated; default: all.
TrainingStageSpec[] Chosen(TrainingStageSpec[] all) => numbers.Length > 7 ? all.Where(v => numbers[7].Split(';').Contains(v.Name)).ToArray() : all;
// Question "forget": dpo and rl with a smaller learning rate than in "all" (the pretraining-loss bound), each the next stage
// of its own project after core, sft and rm-soft, so each starts from sft.
TrainingStageSpec[] forgetVariants =
[
    Stage("dpo-lr3e-5", StageKind.Dpo, dpoTokens, 3e-5, new PreferenceStageSpec { Beta = 0.1 }),
    Stage("rl-lr5e-5", StageKind.Rl, rlTokens, 5e-5, new PreferenceStageSpec
        { RewardModel = "rm-soft", Beta = 0.05, Samples = 4, Temperature = 1.0, PolicySteps = 4, TrustRegion = 1.0 }),
];
var dataSpec = spec with { TrainingStages = [.. spec.TrainingStages, .. question switch
    { "all" => (TrainingStageSpec[])[rlSpec.TrainingStages[^1]], "forget" => forgetVariants, _ => rewardVariants }] };
TrainingStageSpec[] Stages(bool rl)
{
    return
    [
        Stage("core", StageKind.Pretrain, coreTokens, 3e-3),
        Stage("sft", StageKind.Sft, sftTokens, 2e-3),
        Stage("rm-soft", StageKind.Reward, rewardTokens, 1e-3, new PreferenceStageSpec()),
        .. withPlain ? [Stage("rm-plain", StageKind.Reward, rewardTokens, 1e-3, new PreferenceStageSpec { SoftLabels = false })] : Array.Empty<TrainingStageSpec>(),
        .. rl ? [Stage("rl", StageKind.Rl, rlTokens, 2e-4, new PreferenceStageSpec
            { RewardModel = "rm-soft", Beta = 0.05, Samples = 4, Temperature = 1.0, PolicySteps = 4, TrustRegion = 1.0 })] : PostTraining(),
    ];
}
TrainingStageSpec[] PostTraining()
{
    var rs = new PreferenceStageSpec { RewardModel = "rm-soft", Temperature = 1.0 };
    return
    [
        Stage("dpo", StageKind.Dpo, dpoTokens, 1e-4, new PreferenceStageSpec { Beta = 0.1, RewardModel = "rm-soft" }),
        Stage("rs-committee", StageKind.RejectionSampling, rsTokens, 1e-4, rs with { Committee = ["sft", "dpo"], Samples = 4 }),
        Stage("rs-sft", StageKind.RejectionSampling, rsTokens, 1e-4, rs with { Committee = ["sft"], Samples = 8 }),
        Stage("rs-dpo", StageKind.RejectionSampling, rsTokens, 1e-4, rs with { Committee = ["dpo"], Samples = 8 }),
    ];
}

Console.WriteLine($"CPU: {CpuModel()}, {Environment.ProcessorCount} cores, load {Load()} at start; threads {spec.Threads}");
var clock = Stopwatch.StartNew();
string stageSet = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
    string.Join(";", dataSpec.TrainingStages.Select(s => s.Name)))))[..12];
string tokenizer = Path.Combine(scratch, "tokenizer"), data = Path.Combine(scratch, "data-" + stageSet), checkpoints = Path.Combine(scratch, "checkpoints");
if (!Directory.Exists(tokenizer) || Directory.GetFiles(tokenizer).Length == 0) TokenizerStage.Run(dataSpec, tokenizer);
if (!System.IO.File.Exists(Path.Combine(data, "index.json"))) DataStage.Run(dataSpec, tokenizer, data, Console.WriteLine);
var opened = new List<IDisposable>();
IPackedSequences Open(string stage, string split)
{
    var sequences = (IPackedSequences?)PreferencePairs.TryOpen(data, stage, split) ?? LossMaskedSequences.Open(data, stage, split);
    if (sequences is IDisposable d) opened.Add(d);
    return sequences;
}
void Progress(string line) { if (line.Contains("done in", StringComparison.Ordinal) || line.Contains("kept", StringComparison.Ordinal)) Console.WriteLine($"[{clock.Elapsed.TotalMinutes:0.0} min, load {Load()}] {line}"); }
var report = Trainer.Train(spec, Open, checkpoints, Progress);
if (question == "reward") return RewardQuestion();
if (question == "forget")
{
    var chosen = Chosen(forgetVariants);
    var variants = chosen.Select(v => Trainer.Train(spec with { TrainingStages = [.. spec.TrainingStages, v] }, Open, checkpoints, Progress)).ToList();
    Console.WriteLine();
    foreach (var (stage, timing) in variants.SelectMany(r => r.Stages.Zip(r.Timings!.Stages).TakeLast(1)))
        Console.WriteLine($"{stage.Name,-13} {stage.Steps,5} steps  {timing.Seconds:0} s  final validation loss {stage.FinalValidationLoss:0.0000}");
    OnHeldOutPrompts(["sft", .. chosen.Select(v => v.Name)]);
    return Finish();
}
var rlReport = Trainer.Train(rlSpec, Open, checkpoints, Progress);
var stages = report.Stages.Zip(report.Timings!.Stages).Concat(rlReport.Stages.Zip(rlReport.Timings!.Stages).TakeLast(1)).ToList();

Console.WriteLine();
foreach (var (stage, timing) in stages)
    Console.WriteLine($"{stage.Name,-13} {stage.Steps,5} steps  {(timing.Skipped ? "reused from an earlier run" : $"{timing.Seconds:0} s")}  final validation loss {stage.FinalValidationLoss:0.0000}");
Console.WriteLine();
StageReport Named(string name) => stages.Single(s => s.First.Name == name).First;
Console.WriteLine("Held-out pairwise accuracy of the reward models (share of pairs with r(chosen) > r(rejected)):");
var soft = Named("rm-soft").Preference!;
var plain = withPlain ? Named("rm-plain").Preference : null;
Console.WriteLine($"  {"level",-22} {"pairs",5} {"soft labels",12} {(plain is null ? "" : "plain BT"),10}");
foreach (var level in soft.ByLevel)
{
    var other = plain?.ByLevel.Single(l => l.Level == level.Level);
    Console.WriteLine($"  {level.Level,-22} {level.Pairs,5} {level.Accuracy,12:P1} {(other is null ? "" : other.Accuracy.ToString("P1")),10}   mean margin {level.MeanMargin:0.00}" + (other is null ? "" : $" / {other.MeanMargin:0.00}"));
}
Console.WriteLine($"  {"all",-22} {soft.HeldOutPairs,5} {soft.Accuracy,12:P1} {(plain is null ? "" : plain.Accuracy.ToString("P1")),10}");
var dpo = Named("dpo").Preference!;
Console.WriteLine();
Console.WriteLine($"dpo (beta 0.1) vs its reference, the sft model: held-out preference accuracy {dpo.Accuracy:P1} over {dpo.HeldOutPairs} pairs, " +
                  $"mean implicit margin {dpo.MeanMargin:0.000} (chosen {dpo.MeanChosenReward:0.000}, rejected {dpo.MeanRejectedReward:0.000})");

Console.WriteLine();
Console.WriteLine("Rejection sampling: mean rm-soft reward of the kept answer per training prompt (best of the answers drawn for it):");
foreach (var name in new[] { "rs-committee", "rs-sft", "rs-dpo" })
{
    var sampling = Named(name).Sampling!;
    Console.WriteLine($"  {name,-13} {sampling.Prompts} prompts, {sampling.Samples} answers per member: kept {sampling.MeanKeptReward:0.000}; " +
        string.Join("; ", sampling.Committee!.Select(m => $"{m.Name}: best of its own {m.MeanBestReward:0.000}, mean {m.MeanReward:0.000}, kept {m.KeptShare:P0}")));
}

OnHeldOutPrompts(["sft", "dpo", "rl", "rs-committee"]);
return Finish();

// Every model on every held-out prompt: greedy answer's rm-soft reward, exact match with the reference summary, and the
// next-token loss on the pretraining validation data (core's held-out sequences).
void OnHeldOutPrompts(string[] names)
{
    Console.WriteLine();
    using var validationPairs = PreferencePairs.TryOpen(data, "rm-soft", DataSplit.Validation)!;
    var pretrainValidation = Open("core", DataSplit.Validation);
    var pretrainIndices = Evaluator.Spread(pretrainValidation, 512);
    using var rewardModel = RewardModel.Load(spec.Architecture, Path.Combine(checkpoints, "rm-soft", "model.safetensors"));
    Console.WriteLine($"On all {validationPairs.Count} held-out prompts (greedy, at most {Responses.MaxNewTokens} new tokens) and {pretrainIndices.Count} pretraining validation sequences:");
    Console.WriteLine($"  {"model",-13} {"mean reward",12} {"exact match",12} {"pretrain loss",14} {"vs sft",8}");
    double? sftLoss = null;
    foreach (var name in names)
    {
        using var model = Trainer.LoadModel(spec.Architecture, Path.Combine(checkpoints, name, "model.safetensors"));
        double reward = 0;
        int exact = 0;
        var chosenTokens = new int[validationPairs.SequenceLength + 1];
        var chosenMask = new byte[chosenTokens.Length];
        using (TorchSharp.torch.no_grad())
        {
            for (long p = 0; p < validationPairs.Count; p++)
            {
                var (prompt, endOfDocument) = Responses.Prompt(validationPairs, p);
                var answer = Responses.Generate(model, prompt, endOfDocument, validationPairs.ResponseLength, [new Sampler(SamplingOptions.Greedy)])[0];
                reward += Responses.Score(rewardModel, [answer], prompt.Length, endOfDocument)[0];
                validationPairs.Read(p, chosenTokens);
                validationPairs.ReadLossMask(p, chosenMask);
                int end = Array.LastIndexOf(chosenMask, (byte)1, validationPairs.ResponseLength);
                if (answer.Length == end + 1 && answer.Select((t, i) => t == chosenTokens[i]).All(b => b)) exact++;
            }
        }
        double loss = Evaluator.MeanLoss(model, pretrainValidation, pretrainIndices);
        sftLoss ??= loss;
        Console.WriteLine($"  {name,-13} {reward / validationPairs.Count,12:0.000} {exact / (double)validationPairs.Count,12:P1} {loss,14:0.0000} {(loss / sftLoss.Value - 1),8:+0.0%;-0.0%}");
    }
}

int Finish()
{
    foreach (var d in opened) d.Dispose();
    Console.WriteLine($"wall {clock.Elapsed.TotalMinutes:0.0} min, load {Load()} at the end");
    return 0;
}

// Question "reward": every reward variant's held-out accuracy per level, beside the sft model's own likelihood ranking
// (log π_sft(chosen) > log π_sft(rejected)): whether the model the reward models start from tells the pairs apart.
int RewardQuestion()
{
    using var heldOut = PreferencePairs.TryOpen(data, "rm-soft", DataSplit.Validation)!;
    Console.WriteLine();
    Console.WriteLine("Held-out pairwise accuracy by level (share of pairs with r(chosen) > r(rejected)), mean margin, and the variant's time:");
    Console.WriteLine($"  {"model",-16} " + string.Join(" ", PreferenceRecord.LevelNames.Select(l => $"{l,22}")) + $" {"all",8}");
    void Row(string name, (double All, Dictionary<string, double> ByLevel) ranking, string note) =>
        Console.WriteLine($"  {name,-16} " + string.Join(" ", PreferenceRecord.LevelNames.Select(l => $"{ranking.ByLevel[l],22:P1}")) + $" {ranking.All,8:P1}   {note}");
    foreach (var (name, ranking) in SftLikelihoodRanking(heldOut))
        Row(name, ranking, name == "sft logp" ? "(log π_sft(chosen) > log π_sft(rejected))" : "(per token: the likelihood readout's ranking at step 0)");
    foreach (var variant in Chosen(rewardVariants))
    {
        var trained = Trainer.Train(spec with { TrainingStages = [.. spec.TrainingStages, variant] }, Open, checkpoints, Progress);
        var (stage, timing) = trained.Stages.Zip(trained.Timings!.Stages).Last();
        var preference = stage.Preference!;
        Console.WriteLine($"  {stage.Name,-16} " + string.Join(" ", preference.ByLevel.Select(l => $"{$"{l.Accuracy:P1} ({l.MeanMargin:0.00})",22}")) +
            $" {preference.Accuracy,8:P1}   {stage.Steps} steps, {timing.Seconds:0} s, final validation loss {stage.FinalValidationLoss:0.0000}");
        if (variant.Preference!.Readout == RewardReadout.Likelihood)
            foreach (var (name, ranking) in LikelihoodParts(heldOut, variant.Name)) Row(name, ranking, "");
    }
    return Finish();
}

// Rankings of the held-out pairs (over the first MaxValidationPairs, as the reward report counts them) by named scores of
// each response: the share of pairs whose chosen response scores higher, overall and by level. The scorer maps the pair's
// two rows (inputs [2, L], targets [2, L], target mask [2, L], input mask [2, L]) to one score per row for each name.
Dictionary<string, (double All, Dictionary<string, double> ByLevel)> Rankings(PreferencePairs pairs, string[] names,
    Func<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor[]> score)
{
    int width = pairs.ResponseLength + 1;
    var tokens = new int[2 * width];
    var mask = new byte[2 * width];
    var right = names.ToDictionary(n => n, _ => new List<(string Level, bool Right)>());
    using (TorchSharp.torch.no_grad())
    {
        for (long p = 0; p < Math.Min(pairs.Count, 512); p++)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            pairs.Read(p, tokens);
            pairs.ReadLossMask(p, mask);
            var rows = TorchSharp.torch.tensor(tokens.Select(t => (long)t).ToArray(), [2, width]);
            var masks = TorchSharp.torch.tensor(mask.Select(m => (float)m).ToArray(), [2, width]);
            var scores = score(rows.narrow(1, 0, width - 1), rows.narrow(1, 1, width - 1), masks.narrow(1, 1, width - 1), masks.narrow(1, 0, width - 1));
            string level = PreferenceRecord.LevelNames[(int)pairs.Level(p)];
            for (int i = 0; i < names.Length; i++)
            {
                var s = scores[i].data<float>().ToArray();
                right[names[i]].Add((level, s[0] > s[1]));
            }
        }
    }
    return right.ToDictionary(r => r.Key, r => (r.Value.Count(x => x.Right) / (double)r.Value.Count,
        r.Value.GroupBy(x => x.Level).ToDictionary(g => g.Key, g => g.Count(x => x.Right) / (double)g.Count())));
}

// The sft model's own likelihood ranking: the sum of the log-probabilities of the response and its end-of-document
// (log π_sft(chosen) > log π_sft(rejected)), and their mean per token (what the likelihood readout adds at step 0).
Dictionary<string, (double All, Dictionary<string, double> ByLevel)> SftLikelihoodRanking(PreferencePairs pairs)
{
    using var model = Trainer.LoadModel(spec.Architecture, Path.Combine(checkpoints, "sft", "model.safetensors"));
    model.eval();
    return Rankings(pairs, ["sft logp", "sft mean logp"], (inputs, targets, targetMask, _) =>
    {
        var sum = PreferenceLosses.SequenceLogProbs(model.forward(inputs), targets, targetMask);
        return [sum, sum / targetMask.sum(1)];
    });
}

// A trained likelihood-readout reward model taken apart: its total reward (as the stage's report), its head alone
// (w · h_eod + b), the scaled mean log-likelihood alone, and its decoder's own summed likelihood ranking.
Dictionary<string, (double All, Dictionary<string, double> ByLevel)> LikelihoodParts(PreferencePairs pairs, string stage)
{
    using var model = RewardModel.Load(spec.Architecture, Path.Combine(checkpoints, stage, "model.safetensors"));
    var scale = model.NamedParameters().Single(p => p.name == RewardModel.LikelihoodScale).parameter.item<float>();
    Console.WriteLine($"  {stage}: likelihood scale a = {scale:0.000}");
    return Rankings(pairs, ["  total", "  head only", "  a x mean logp", "  its logp"], (inputs, targets, targetMask, inputMask) =>
    {
        var total = model.Rewards(inputs, inputMask);
        var sum = PreferenceLosses.SequenceLogProbs(model.Decoder.forward(inputs), targets, targetMask);
        var likelihood = scale * sum / targetMask.sum(1);
        return [total, total - likelihood, likelihood, sum];
    });
}

static string CpuModel() => System.IO.File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
static string Load() => System.IO.File.ReadAllText("/proc/loadavg").Split(' ')[0];
