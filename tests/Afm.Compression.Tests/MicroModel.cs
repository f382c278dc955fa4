using Afm.Compression.Allocation;
using Afm.Core.Spec;
using Afm.Profiling.Profile;
using Afm.Data.Packing;
using Afm.Training.Stages;

namespace Afm.Compression.Tests;

/// <summary>A deterministic micro model (a few thousand parameters) trained once per test process on counting sequences.</summary>
internal static class MicroModel
{
    private static readonly Lazy<string> Trained = new(Train);

    public static ArchitectureSpec Architecture { get; } = new()
    {
        ModelDim = 32, Layers = 2, Heads = 4, KvHeads = 2, FfnDim = 64, VocabSize = 16, RopeBase = 10000,
        TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 16, NormEpsilon = 1e-5,
    };

    public static TrainingStageSpec Stage { get; } = new()
    {
        Name = "core", Kind = StageKind.Pretrain, Tokens = 60 * 16 * 8, SequenceLength = 16, BatchSize = 8, LearningRate = 1e-2,
        WarmupSteps = 5, FinalLearningRateRatio = 0.1, Schedule = LearningRateSchedule.Cosine, WeightDecay = 0.01, GradientClip = 1.0,
        RopeBase = 10000, Mix = [new MixEntry("synthetic", 1.0)], EvalEvery = 30,
    };

    public static ModelSpec Spec(QuantizationPlanSpec? plan = null) => new()
    {
        ProjectPath = "/micro/micro.afmproj", Name = "micro", Version = "0.0.1", Seed = 1234, Threads = 2, Architecture = Architecture,
        Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = 16, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
        Corpora = [], EvalSets = [], TrainingStages = [Stage], ValidationFraction = 0.1, Quantization = plan,
    };

    public static QuantizationPlanSpec Plan(double? target = 3.5, IReadOnlyList<BitsOverride>? overrides = null, IReadOnlyList<string>? keepFloat = null) => new()
    {
        Name = "device", Method = QuantizationMethod.Palettize, Bits = 4, LowBits = 2, GroupSize = 16, LutType = LutType.Fp16,
        Embedding = EmbeddingFormat.Int8PerChannel, Importance = ImportanceKind.Fisher, TargetBitsPerWeight = target,
        Overrides = overrides ?? [], KeepFloat = keepFloat ?? [], CalibrationSequences = 16, KMeansIterations = 30,
    };

    /// <summary>Path of the trained weights (model.safetensors).</summary>
    public static string WeightsPath => Trained.Value;

    public static IPackedSequences Data(string split) => new CountingSequences(16, split == "train" ? 256 : 32, 16, split == "train" ? 1 : 7);

    public static QuantizationResult Quantize(QuantizationPlanSpec plan, IReadOnlyList<DeviceCosts>? devices = null) =>
        QuantizationPipeline.Run(new QuantizationInputs(Spec(plan), WeightsPath, Data("train"), Data("valid"), ValidationSequences: 32, devices));

    /// <summary>The profile stage's costs of the micro model on a built-in device (an estimate: no measurement, deterministic).</summary>
    public static DeviceCosts Device(DeviceProfileSpec device)
    {
        var spec = Spec(Plan());
        var profile = ProfileBuilder.Build(spec.Name, Architecture, device, ProfileBuilder.WorkloadFor(spec, device));
        return new DeviceCosts(new LayerCosts(profile), measured: false);
    }

    private static string Train()
    {
        string dir = Path.Combine(Path.GetTempPath(), "afm-compression-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var report = Trainer.Train(Spec(), (_, split) => Data(split), dir);
        return report.FinalWeightsPath;
    }
}

/// <summary>Sequence i starts at a pseudo-random token and counts up by a per-sequence stride: learnable from context.</summary>
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
