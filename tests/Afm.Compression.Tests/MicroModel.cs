using Afm.Compression.Allocation;
using Afm.Core.Spec;
using Afm.Profiling.Profile;
using Afm.Data.Packing;
using Afm.Training.Stages;

namespace Afm.Compression.Tests;

/// <summary>A deterministic micro model (a few thousand parameters) trained once per test process on counting sequences.</summary>
internal static class MicroModel
{
    public static ArchitectureSpec Architecture { get; } = new()
    {
        ModelDim = 32, Layers = 2, Heads = 4, KvHeads = 2, FfnDim = 64, VocabSize = 16, RopeBase = 10000,
        TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 16, NormEpsilon = 1e-5,
    };

    /// <summary>
    /// The generalized decoder's switches on the micro model: q/k/v biases, a head width (6) that is not ModelDim / Heads,
    /// per-layer heads, key/value heads and FFN widths (layer-wise scaling), an untied head.
    /// </summary>
    public static ArchitectureSpec Generalized { get; } = Architecture with
    {
        Heads = 6, KvHeads = 3, FfnDim = 80, TieEmbeddings = false, ExplicitHeadDim = 6, AttentionBias = true,
        LayerShapes = [new(2, 1, 48), new(6, 3, 80)],
    };

    // Declared after the architectures they train: static initializers run in order, so both are set when these are.
    private static readonly Lazy<string> Trained = new(() => Train(Architecture));
    private static readonly Lazy<string> TrainedGeneralized = new(() => Train(Generalized));

    public static TrainingStageSpec Stage { get; } = new()
    {
        Name = "core", Kind = StageKind.Pretrain, Tokens = 60 * 16 * 8, SequenceLength = 16, BatchSize = 8, LearningRate = 1e-2,
        WarmupSteps = 5, FinalLearningRateRatio = 0.1, Schedule = LearningRateSchedule.Cosine, WeightDecay = 0.01, GradientClip = 1.0,
        RopeBase = 10000, Mix = [new MixEntry("synthetic", 1.0)], EvalEvery = 30,
    };

    public static ModelSpec Spec(QuantizationPlanSpec? plan = null, ArchitectureSpec? architecture = null) => new()
    {
        ProjectPath = "/micro/micro.afmproj", Name = "micro", Version = "0.0.1", Seed = 1234, Threads = 2, Architecture = architecture ?? Architecture,
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

    /// <summary>Path of the trained weights of <see cref="Architecture"/> or <see cref="Generalized"/>.</summary>
    public static string WeightsPathOf(ArchitectureSpec architecture) => architecture == Generalized ? TrainedGeneralized.Value : Trained.Value;

    public static IPackedSequences Data(string split) => new CountingSequences(16, split == "train" ? 256 : 32, 16, split == "train" ? 1 : 7);

    public static QuantizationResult Quantize(QuantizationPlanSpec plan, IReadOnlyList<DeviceCosts>? devices = null, ArchitectureSpec? architecture = null) =>
        QuantizationPipeline.Run(new QuantizationInputs(Spec(plan, architecture), WeightsPathOf(architecture ?? Architecture), Data("train"), Data("valid"),
            ValidationSequences: 32, devices));

    /// <summary>The profile stage's costs of the micro model on a built-in device (an estimate: no measurement, deterministic).</summary>
    /// <param name="plan">The project's plan (default <see cref="Plan"/>): with RuntimeForm="nbits" the profile is of the resident graph.</param>
    public static DeviceCosts Device(DeviceProfileSpec device, ArchitectureSpec? architecture = null, QuantizationPlanSpec? plan = null)
    {
        var spec = Spec(plan ?? Plan(), architecture);
        var profile = ProfileBuilder.Build(spec.Name, spec.Architecture, device, ProfileBuilder.WorkloadFor(spec, device), form: Profiling.Model.GraphForm.Of(spec));
        return new DeviceCosts(new LayerCosts(profile), measured: false);
    }

    private static string Train(ArchitectureSpec architecture)
    {
        string dir = Path.Combine(Path.GetTempPath(), "afm-compression-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var report = Trainer.Train(Spec(null, architecture), (_, split) => Data(split), dir);
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
