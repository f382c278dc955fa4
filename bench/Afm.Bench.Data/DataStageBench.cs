using System.Diagnostics;
using System.Text.Json;
using Afm.Core.Spec;
using Afm.Data.Packing;

namespace Afm.Bench.Data;

/// <summary>
/// The whole data stage on the bench corpus (read, tokenize, exact + near-duplicate removal, n-gram
/// decontamination against an eval set of every 50th document, split, pack), timed per progress line so the
/// cost of each filter shows.
/// </summary>
internal static class DataStageBench
{
    public static void Run(BenchCorpus corpus, string tokenizerDirectory, int vocabSize, string work)
    {
        var corpusFile = Path.Combine(work, "corpus.jsonl");
        var evalFile = Path.Combine(work, "eval.jsonl");
        File.WriteAllLines(corpusFile, corpus.Documents.Select(d => JsonSerializer.Serialize(new { text = d })));
        File.WriteAllLines(evalFile, corpus.Documents.Where((_, i) => i % 50 == 0).Select(d => JsonSerializer.Serialize(new { text = d[..Math.Min(d.Length, 2000)] })));
        var spec = new ModelSpec
        {
            ProjectPath = Path.Combine(work, "bench.afmproj"), Name = "bench", Version = "0.1.0", Seed = 1, Threads = Environment.ProcessorCount,
            Architecture = new ArchitectureSpec
            {
                ModelDim = 64, Layers = 1, Heads = 2, KvHeads = 1, FfnDim = 128, VocabSize = vocabSize, RopeBase = 10000,
                TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 256, NormEpsilon = 1e-5,
            },
            Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = vocabSize, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
            Corpora = [new CorpusSpec { Name = "docs", Files = [corpusFile], Format = CorpusFormat.JsonLines, TextField = "text" }],
            EvalSets = [new EvalSetSpec { Name = "eval", Files = [evalFile], Format = CorpusFormat.JsonLines, TextField = "text", Decontaminate = true }],
            TrainingStages = [new TrainingStageSpec
            {
                Name = "core", Kind = StageKind.Pretrain, Tokens = 1_000_000, SequenceLength = 256, BatchSize = 8, LearningRate = 1e-3,
                WarmupSteps = 0, FinalLearningRateRatio = 0.1, Schedule = LearningRateSchedule.Cosine, WeightDecay = 0, GradientClip = 1,
                RopeBase = 10000, Mix = [], EvalEvery = 10,
            }],
            ValidationFraction = 0.05,
        };
        var clock = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        DataStage.Run(spec, tokenizerDirectory, Path.Combine(work, "data"), message =>
        {
            Console.WriteLine($"data   : +{(clock.Elapsed - last).TotalSeconds,5:F1} s  {message}");
            last = clock.Elapsed;
        });
        Console.WriteLine($"data   : whole stage {clock.Elapsed.TotalSeconds:F1} s = {corpus.Bytes / 1e6 / clock.Elapsed.TotalSeconds:F2} MB/s on {Environment.ProcessorCount} threads");
    }
}
