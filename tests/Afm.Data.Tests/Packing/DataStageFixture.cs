using Afm.Core.Spec;
using Afm.Data.Tokenization;

namespace Afm.Data.Tests.Packing;

/// <summary>Two small JSON lines corpora, a trained tokenizer, and a spec builder for data stage tests.</summary>
public sealed class DataStageFixture : IDisposable
{
    private readonly TempDirectory _directory = new();

    public DataStageFixture()
    {
        WriteCorpus("stories.jsonl", Enumerable.Range(0, 120).Select(i => $"Story {i}: Mira found {i % 7} red stones near the mill and went home."));
        WriteCorpus("numbers.jsonl", Enumerable.Range(0, 60).Select(i => $"{i} + {i % 9} = {i + i % 9}"));
        var texts = File.ReadLines(_directory.Combine("stories.jsonl")).Concat(File.ReadLines(_directory.Combine("numbers.jsonl")));
        BpeTrainer.Train(texts, new BpeTrainingOptions(400, SplitDigits: true, ByteFallback: true, [])).Save(TokenizerDirectory);
    }

    public string TokenizerDirectory => _directory.Combine("tokenizer");

    public ModelSpec Spec(params TrainingStageSpec[] stages) => new()
    {
        ProjectPath = _directory.Combine("model.afmproj"),
        Name = "tiny", Version = "0.1.0", Seed = 1234, Threads = 2,
        Architecture = new ArchitectureSpec
        {
            ModelDim = 32, Layers = 1, Heads = 2, KvHeads = 1, FfnDim = 64, VocabSize = 400, RopeBase = 10000,
            TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 64, NormEpsilon = 1e-5,
        },
        Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = 400, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
        Corpora = [Corpus("stories"), Corpus("numbers")],
        EvalSets = [],
        TrainingStages = stages.Length > 0 ? stages : [Stage("core", 4000, 32, ("numbers", 0.25), ("stories", 0.75))],
        ValidationFraction = 0.1,
    };

    public static TrainingStageSpec Stage(string name, long tokens, int length, params (string Corpus, double Weight)[] mix) => new()
    {
        Name = name, Kind = StageKind.Pretrain, Tokens = tokens, SequenceLength = length, BatchSize = 4, LearningRate = 1e-3,
        WarmupSteps = 0, FinalLearningRateRatio = 0.1, Schedule = LearningRateSchedule.Cosine, WeightDecay = 0, GradientClip = 1,
        RopeBase = 10000, Mix = mix.Select(m => new MixEntry(m.Corpus, m.Weight)).ToList(), EvalEvery = 10,
    };

    private CorpusSpec Corpus(string name) => new()
    {
        Name = name, Files = [_directory.Combine(name + ".jsonl")], Format = CorpusFormat.JsonLines, TextField = "text",
    };

    private void WriteCorpus(string file, IEnumerable<string> texts) =>
        File.WriteAllLines(_directory.Combine(file), texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })));

    public void Dispose() => _directory.Dispose();
}
