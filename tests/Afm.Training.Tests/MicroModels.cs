using Afm.Core.Spec;
using Afm.Data.Packing;

namespace Afm.Training.Tests;

/// <summary>Tiny architectures and specs so every test trains in seconds on two cores.</summary>
internal static class MicroModels
{
    public static ArchitectureSpec Architecture(int heads = 4, int kvHeads = 2, bool tie = true, bool qkNorm = true,
        int modelDim = 32, int layers = 2, int vocab = 16, int ffn = 64) => new()
    {
        ModelDim = modelDim, Layers = layers, Heads = heads, KvHeads = kvHeads, FfnDim = ffn, VocabSize = vocab,
        RopeBase = 10000, TieEmbeddings = tie, QkNorm = qkNorm, MaxSequenceLength = 64, NormEpsilon = 1e-5,
    };

    /// <summary>
    /// The generalized decoder's switches on the micro model: q/k/v biases, a head width (6) that is not ModelDim / Heads,
    /// per-layer heads, key/value heads and FFN widths (layer-wise scaling), an untied head.
    /// </summary>
    public static ArchitectureSpec Generalized(int[]? ffn = null) => Architecture(heads: 6, kvHeads: 3, tie: false, ffn: (ffn ?? [48, 80]).Max()) with
    {
        ExplicitHeadDim = 6,
        AttentionBias = true,
        LayerShapes = [new(2, 1, (ffn ?? [48, 80])[0]), new(6, 3, (ffn ?? [48, 80])[1])],
    };

    public static TrainingStageSpec Stage(string name = "core", long steps = 40, int length = 16, int batch = 8,
        double lr = 1e-2, double ropeBase = 10000, int evalEvery = 20) => new()
    {
        Name = name, Kind = StageKind.Pretrain, Tokens = steps * length * batch, SequenceLength = length, BatchSize = batch,
        LearningRate = lr, WarmupSteps = 5, FinalLearningRateRatio = 0.1, Schedule = LearningRateSchedule.Cosine,
        WeightDecay = 0.01, GradientClip = 1.0, RopeBase = ropeBase, Mix = [new MixEntry("synthetic", 1.0)], EvalEvery = evalEvery,
    };

    public static ModelSpec Spec(ArchitectureSpec? architecture = null, params TrainingStageSpec[] stages) => new()
    {
        ProjectPath = "/micro/micro.afmproj", Name = "micro", Version = "0.0.1", Seed = 1234, Threads = 2,
        Architecture = architecture ?? Architecture(),
        Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = 16, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
        Corpora = [], EvalSets = [], TrainingStages = stages.Length > 0 ? stages : [Stage()], ValidationFraction = 0.1,
    };

    /// <summary>Counting sequences (each token is the previous + stride, mod vocab): learnable from context.</summary>
    public static Func<string, string, IPackedSequences> CountingData(int vocab = 16) =>
        (stage, split) => new CountingSequences(16, split == "train" ? 256 : 32, vocab, split == "train" ? 1 : 7);

    /// <summary>Same shape, dtype and every element equal.</summary>
    public static bool SameValues(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    public static string TempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "afm-training-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>An in-memory IPackedSequences: sequence i starts at a pseudo-random token and counts up by a per-sequence stride.</summary>
internal sealed class CountingSequences(int sequenceLength, long count, int vocabSize, int salt) : IPackedSequences
{
    public int SequenceLength => sequenceLength;
    public long Count => count;
    public int VocabSize => vocabSize;

    public void Read(long index, Span<int> destination)
    {
        int start = (int)((index * 7 + salt) % vocabSize);
        int stride = 1 + (int)((index + salt) % 3);
        for (int i = 0; i <= sequenceLength; i++) destination[i] = (start + i * stride) % vocabSize;
    }
}
