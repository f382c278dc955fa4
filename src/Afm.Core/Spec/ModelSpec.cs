using Afm.Core.Diagnostics;

namespace Afm.Core.Spec;

/// <summary>
/// The typed, validated description of a model project: what <c>afm validate</c> produces from a
/// <see cref="ProjectSnapshot"/>. Every stage works from this (or from its slice of it), never from raw
/// MSBuild strings. Paths are absolute; the artifact records them relative to the project.
/// </summary>
public sealed record ModelSpec
{
    public required string ProjectPath { get; init; }
    public required string Name { get; init; }
    public required string Version { get; init; }
    public required long Seed { get; init; }
    /// <summary>Threads the compiler's math uses; part of the determinism contract (same seed + same threads = same bytes).</summary>
    public required int Threads { get; init; }
    /// <summary>
    /// Which machines give the same bytes (<c>AfmDeterminism</c>, specs/afmproj.md): portable pins the numeric libraries'
    /// kernels so that every x86-64 CPU with AVX2 and FMA computes alike; machine lets them pick the fastest for this CPU.
    /// </summary>
    public DeterminismMode Determinism { get; init; } = DeterminismMode.Portable;
    public required ArchitectureSpec Architecture { get; init; }
    /// <summary>Which operators <c>afm export</c> writes the graph with (<c>AfmOnnxOps</c>, specs/afmproj.md).</summary>
    public OnnxOps OnnxOps { get; init; } = OnnxOps.Standard;
    public required TokenizerSpec Tokenizer { get; init; }
    public required IReadOnlyList<CorpusSpec> Corpora { get; init; }
    public required IReadOnlyList<EvalSetSpec> EvalSets { get; init; }
    public required IReadOnlyList<TrainingStageSpec> TrainingStages { get; init; }
    /// <summary>
    /// A BaseModel project without a TrainingStage that quantizes or adapts the base: the data the data stage packs for
    /// calibration and recovery adapters (named <see cref="CalibrationDataName"/>, never trained); null otherwise.
    /// </summary>
    public TrainingStageSpec? CalibrationData { get; init; }
    /// <summary>
    /// The stage whose packed data the quantize stage calibrates on: the last pretrain or sft stage (preference pairs are
    /// padded pairs of responses, not text the model reads), else <see cref="CalibrationData"/>.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TrainingStageSpec? CalibrationStage => TrainingStages.LastOrDefault(s => !s.IsPreference) ?? CalibrationData;
    /// <summary>Every stage the data stage packs: the training stages (each sft stage's <see cref="TrainingStageSpec.MixData"/> after
    /// it), then <see cref="CalibrationData"/> when there is one.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IEnumerable<TrainingStageSpec> PackedStages =>
        TrainingStages.SelectMany(s => s.MixData is { } mix ? [s, mix] : new[] { s }).Concat(CalibrationData is null ? [] : [CalibrationData]);
    public const string CalibrationDataName = "calibration";
    /// <summary>Fraction of documents held out for validation (by a seeded hash of the document).</summary>
    public required double ValidationFraction { get; init; }
    /// <summary>The quantize stage's plan, or null: the artifact then holds only the float model.</summary>
    public QuantizationPlanSpec? Quantization { get; init; }
    /// <summary>The profile stage's devices, in project order (specs/profiling.md); empty: no profile stage output.</summary>
    public IReadOnlyList<DeviceProfileSpec> Devices { get; init; } = [];
    /// <summary>The model this one is distilled from, or null (specs/afmproj.md, Teacher).</summary>
    public TeacherSpec? Teacher { get; init; }
    /// <summary>The adapters stage's adapters, recovery adapters first (specs/adapters.md); empty: no adapters stage output.</summary>
    public IReadOnlyList<AdapterSpec> Adapters { get; init; } = [];
    /// <summary>The runtime formats written beside the package (AfmExportFormats); none by default.</summary>
    public ExportFormatsSpec Exports { get; init; } = new();
    /// <summary>The checkpoint the model starts from, or null: trained from scratch (specs/afmproj.md, BaseModel).</summary>
    public BaseModelSpec? BaseModel { get; init; }
    /// <summary>The evaluate stage's benchmark tasks, in project order (specs/afmproj.md, EvalTask); empty: no evaluation.</summary>
    public IReadOnlyList<EvalTaskSpec> EvalTasks { get; init; } = [];
    /// <summary>The project's chat template (AfmChatTemplate), or null: the artifact then has only a checkpoint's, if any.</summary>
    public ChatTemplateSpec? ChatTemplate { get; init; }
}

/// <summary>How far the same-inputs-same-bytes promise reaches (specs/afmproj.md, AfmDeterminism).</summary>
public enum DeterminismMode
{
    /// <summary>The same bytes on any x86-64 CPU with AVX2 and FMA (Intel or AMD, with or without AVX-512).</summary>
    Portable,
    /// <summary>The same bytes on this machine only; the numeric libraries use the widest kernels the CPU has.</summary>
    Machine,
}

/// <summary>What portable determinism asks of the CPU (the kernels themselves are pinned in Afm.Training's PortableKernels).</summary>
public static class PortableDeterminism
{
    /// <summary>
    /// True when this CPU runs the pinned kernels as they are meant: ATen's AVX2 build needs AVX2 and FMA. On an older
    /// x86 CPU ATen falls back to its scalar build, and on another architecture nothing pinned applies: the bytes then
    /// differ from those of the x86-64 machines.
    /// </summary>
    public static bool CpuSupported =>
        System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
}

/// <summary>
/// The generalized decoder-only transformer (specs/afmproj.md, "Architecture"): the AFM report's decoder (RMSNorm
/// pre-norm, GQA, SwiGLU, RoPE, optional QK-norm and tied embeddings), and the variants imported checkpoints bring
/// (Llama, Mistral, Qwen2's q/k/v biases, Qwen3's explicit head dimension, OpenELM's per-layer heads and FFN widths).
/// <see cref="Heads"/>, <see cref="KvHeads"/> and <see cref="FfnDim"/> describe a uniform model; when
/// <see cref="LayerShapes"/> is set it overrides them layer by layer, and every consumer asks
/// <see cref="Layer"/> for layer <c>i</c>'s shape rather than reading the uniform fields.
/// </summary>
public sealed record ArchitectureSpec
{
    public required int ModelDim { get; init; }
    public required int Layers { get; init; }
    /// <summary>Query heads of a uniform model (the largest count of any layer when <see cref="LayerShapes"/> is set).</summary>
    public required int Heads { get; init; }
    /// <summary>Key/value heads of a uniform model (the largest count of any layer when <see cref="LayerShapes"/> is set).</summary>
    public required int KvHeads { get; init; }
    /// <summary>SwiGLU hidden width of a uniform model (the largest of any layer when <see cref="LayerShapes"/> is set).</summary>
    public required int FfnDim { get; init; }
    /// <summary>Vocabulary size of the model; equals the tokenizer's.</summary>
    public required int VocabSize { get; init; }
    public required double RopeBase { get; init; }
    public required bool TieEmbeddings { get; init; }
    public required bool QkNorm { get; init; }
    public required int MaxSequenceLength { get; init; }
    public required double NormEpsilon { get; init; }
    /// <summary>
    /// Width of one attention head. Null: ModelDim / Heads (the AFM and Llama rule). Qwen3 states it explicitly, and
    /// it need not equal ModelDim / Heads; OpenELM's is fixed while its head counts vary per layer.
    /// </summary>
    public int? ExplicitHeadDim { get; init; }
    /// <summary>Biases on the q, k and v projections (Qwen2); no other projection has one.</summary>
    public bool AttentionBias { get; init; }
    /// <summary>
    /// Per-layer shapes (OpenELM's layer-wise scaling), one per layer in order; null: every layer has
    /// <see cref="Heads"/>, <see cref="KvHeads"/> and <see cref="FfnDim"/>.
    /// </summary>
    public IReadOnlyList<LayerShape>? LayerShapes
    {
        get => layerShapes;
        // Held as a list compared by its elements, so two specs with the same per-layer shapes are equal records
        // (a record compares a list by reference): caches keyed by architecture and "did it change" checks need it.
        init => layerShapes = value is null ? null : new LayerShapeList(value);
    }

    private readonly LayerShapeList? layerShapes;

    public int HeadDim => ExplicitHeadDim ?? ModelDim / Heads;

    /// <summary>Layer <paramref name="index"/>'s head counts and FFN width.</summary>
    public LayerShape Layer(int index) =>
        LayerShapes is { } shapes ? shapes[index] : new LayerShape(Heads, KvHeads, FfnDim);

    /// <summary>Whether every layer has the same shape (what export formats without per-layer shapes need).</summary>
    public bool IsUniform => LayerShapes is null || LayerShapes.All(s => s == LayerShapes[0]);

    /// <summary>
    /// Why no decoder can have this architecture, or null: the head width must be even (RoPE) and, when it is not given,
    /// ModelDim / Heads; there must be one shape per layer; and each layer's key/value heads must divide its heads.
    /// The reader's diagnostics keep a project from ever getting here; an architecture built in code (an importer) is checked.
    /// </summary>
    public string? Inconsistency()
    {
        if (ExplicitHeadDim is null && (Heads <= 0 || ModelDim % Heads != 0)) return $"Heads ({Heads}) must divide ModelDim ({ModelDim}) when the head dimension is not given";
        if (HeadDim <= 0 || HeadDim % 2 != 0) return $"the head dimension ({HeadDim}) must be even for RoPE";
        if (LayerShapes is { } shapes && shapes.Count != Layers) return $"it has {shapes.Count} layer shapes for {Layers} layers";
        for (int i = 0; i < Layers; i++)
        {
            var shape = Layer(i);
            if (shape.Heads <= 0 || shape.KvHeads <= 0 || shape.FfnDim <= 0 || shape.Heads % shape.KvHeads != 0)
                return $"layer {i} has {shape.Heads} heads, {shape.KvHeads} key/value heads and FFN width {shape.FfnDim}: key/value heads must divide the heads";
        }
        return null;
    }
}

/// <summary>One layer's attention heads (query, key/value) and SwiGLU hidden width.</summary>
public sealed record LayerShape(int Heads, int KvHeads, int FfnDim);

/// <summary>Per-layer shapes with value equality: equal when they hold equal shapes in the same order.</summary>
internal sealed class LayerShapeList(IEnumerable<LayerShape> shapes) : System.Collections.ObjectModel.ReadOnlyCollection<LayerShape>(shapes.ToArray())
{
    public override bool Equals(object? obj) => obj is LayerShapeList other && this.SequenceEqual(other);

    public override int GetHashCode() => this.Aggregate(Count, (hash, shape) => HashCode.Combine(hash, shape));
}

public sealed record TokenizerSpec
{
    /// <summary><see cref="BaseModelKind"/> for a project with a BaseModel.</summary>
    public const string BaseModelKind = "base-model";

    /// <summary>"bpe" (trained on the corpora by the tokenizer stage), or <see cref="BaseModelKind"/>: the BaseModel's own tokenizer.</summary>
    public required string Kind { get; init; }
    public required int VocabSize { get; init; }
    public required bool SplitDigits { get; init; }
    public required bool ByteFallback { get; init; }
    public required IReadOnlyList<string> SpecialTokens { get; init; }
    public SourceLocation? Location { get; init; }
}

public enum CorpusFormat { Text, JsonLines }

public sealed record CorpusSpec
{
    public required string Name { get; init; }
    /// <summary>Absolute paths, sorted ordinally so the build never depends on directory order.</summary>
    public required IReadOnlyList<string> Files { get; init; }
    public required CorpusFormat Format { get; init; }
    /// <summary>For JSON lines: the field holding a document's text.</summary>
    public required string TextField { get; init; }
    /// <summary>
    /// Near-duplicate removal: a document whose estimated Jaccard similarity (MinHash over word 5-grams) with an
    /// earlier kept document reaches this is dropped. In (0, 1].
    /// </summary>
    public double NearDuplicateThreshold { get; init; } = DataCleaningDefaults.NearDuplicateThreshold;
    public SourceLocation? Location { get; init; }
}

/// <summary>Defaults of the data-cleaning metadata (specs/data-pipeline.md); the AFM report's values where it gives them.</summary>
public static class DataCleaningDefaults
{
    public const double NearDuplicateThreshold = 0.8;
    public const int DecontaminationMinN = 4;
    public const int DecontaminationMaxN = 13;
    public const int CommonNGramThreshold = 1000;
}

public sealed record EvalSetSpec
{
    public required string Name { get; init; }
    public required IReadOnlyList<string> Files { get; init; }
    public required CorpusFormat Format { get; init; }
    public required string TextField { get; init; }
    public required bool Decontaminate { get; init; }
    /// <summary>Shortest word n-gram that decontamination looks for.</summary>
    public int DecontaminationMinN { get; init; } = DataCleaningDefaults.DecontaminationMinN;
    /// <summary>Longest word n-gram that decontamination looks for.</summary>
    public int DecontaminationMaxN { get; init; } = DataCleaningDefaults.DecontaminationMaxN;
    /// <summary>An eval n-gram found in more training documents than this is common usage and never causes a drop.</summary>
    public int CommonNGramThreshold { get; init; } = DataCleaningDefaults.CommonNGramThreshold;
    public SourceLocation? Location { get; init; }
}

/// <summary>
/// pretrain: next-token loss on every packed token of the Mix. sft: loss only on the response tokens of prompt/response
/// JSON lines. reward: a reward model (the decoder plus a scalar head) trained on preference pairs; it does not change
/// the model the later stages continue. dpo: the model trained on preference pairs against a frozen reference
/// (specs/post-training.md). rejection-sampling (iTeC): the model fine-tuned with the sft loss on the best of a committee's
/// sampled responses per prompt, as a reward model ranks them. rl (MDLOO): online RL against a reward model with a
/// leave-one-out advantage and mirror-descent policy updates.
/// </summary>
public enum StageKind { Pretrain, Sft, Reward, Dpo, RejectionSampling, Rl }

/// <summary>The .afmproj spelling of each <see cref="StageKind"/> (one name per thing, from the project to the reports).</summary>
public static class StageKinds
{
    public static string Name(StageKind kind) => kind switch
    {
        StageKind.RejectionSampling => "rejection-sampling",
        _ => kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>
/// What a reward model's score reads (specs/post-training.md): a scalar head on the hidden state of the response's
/// end-of-document (last), on the mean hidden state over the response's tokens (mean), or the end-of-document head plus a
/// learned multiple of the response's mean token log-likelihood under the reward model's own decoder (likelihood).
/// </summary>
public enum RewardReadout { Last, Mean, Likelihood }

/// <summary>The .afmproj spelling of each <see cref="RewardReadout"/> (also the reward model file's metadata value).</summary>
public static class RewardReadouts
{
    public static string Name(RewardReadout readout) => readout.ToString().ToLowerInvariant();

    public static RewardReadout? Parse(string text) =>
        Enum.GetValues<RewardReadout>().Select(r => (RewardReadout?)r).FirstOrDefault(r => string.Equals(Name(r!.Value), text, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The loss of a dpo stage: DPO's logistic loss or IPO's squared loss (specs/post-training.md).</summary>
public enum PreferenceLoss { Dpo, Ipo }

/// <summary>The settings only reward and dpo stages have (specs/post-training.md); defaults are the documented ones.</summary>
public sealed record PreferenceStageSpec
{
    /// <summary>reward: the Bradley-Terry target probability grows with the preference level; false: 1 for every pair (plain Bradley-Terry).</summary>
    public bool SoftLabels { get; init; } = true;
    /// <summary>reward: weight of the single-sided grade regularizer.</summary>
    public double GradeWeight { get; init; } = PreferenceDefaults.GradeWeight;
    /// <summary>reward: what the reward reads from the model (specs/post-training.md, Readout; default likelihood, measured
    /// in bench/Afm.Bench.PostTraining/README.md). Left out of JSON when it is <see cref="RewardReadout.Last"/>, the readout
    /// every reward stage had before readouts existed, so the fingerprints of those stages stand; any other is written, so a
    /// stage trained with the earlier default trains again.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public RewardReadout Readout { get; init; } = RewardReadout.Likelihood;
    /// <summary>dpo: the loss.</summary>
    public PreferenceLoss Loss { get; init; } = PreferenceLoss.Dpo;
    /// <summary>dpo: the strength of the implicit KL to the reference (DPO's beta; IPO's tau).</summary>
    public double Beta { get; init; } = PreferenceDefaults.Beta;
    /// <summary>dpo: the name of an earlier reward stage whose model scores the held-out responses in the report; null: none.
    /// rejection-sampling and rl: the reward stage whose model ranks (iTeC) or rewards (MDLOO) the sampled responses.</summary>
    public string? RewardModel { get; init; }
    /// <summary>rejection-sampling: the earlier stages whose models sample responses (the committee), in project order.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Committee { get; init; }
    /// <summary>rejection-sampling: responses per prompt from each committee member; rl: responses per prompt (at least 2).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? Samples { get; init; }
    /// <summary>rejection-sampling and rl: the sampling temperature of the responses.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? Temperature { get; init; }
    /// <summary>rl: gradient steps of each mirror-descent iteration (MDPO's m).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? PolicySteps { get; init; }
    /// <summary>rl: the weight 1/t of the KL to the iteration's starting policy in the mirror-descent objective.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? TrustRegion { get; init; }
}

/// <summary>Defaults and level targets of the preference stages (specs/post-training.md).</summary>
public static class PreferenceDefaults
{
    public const double GradeWeight = 0.1;
    public const double Beta = 0.1;
    public const int Samples = 4;
    public const double Temperature = 1.0;
    public const int PolicySteps = 4;
    public const double TrustRegion = 1.0;
}

/// <summary>How much better the chosen response of a preference pair is, as annotators say it (AFM report 4.3.1).</summary>
public enum PreferenceLevel { SignificantlyBetter, Better, SlightlyBetter, NegligiblyBetter }

/// <summary>The optimizer a stage trains with (specs/afmproj.md, Optimizer metadata).</summary>
public enum StageOptimizer { AdamW, Afm }

public enum LearningRateSchedule { Cosine, Constant, Linear }

public sealed record TrainingStageSpec
{
    public required string Name { get; init; }
    public required StageKind Kind { get; init; }
    /// <summary>Training tokens this stage consumes.</summary>
    public required long Tokens { get; init; }
    public required int SequenceLength { get; init; }
    /// <summary>Sequences per optimizer step.</summary>
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }
    public required int WarmupSteps { get; init; }
    public required double FinalLearningRateRatio { get; init; }
    public required LearningRateSchedule Schedule { get; init; }
    public required double WeightDecay { get; init; }
    public required double GradientClip { get; init; }
    /// <summary>RoPE base used from this stage on (context lengthening raises it).</summary>
    public required double RopeBase { get; init; }
    /// <summary>Corpus name to sampling weight, normalized to sum 1, sorted by name. pretrain: what the stage samples. sft:
    /// the pretraining data of its <see cref="MixShare"/> (empty without one).</summary>
    public required IReadOnlyList<MixEntry> Mix { get; init; }
    /// <summary>sft stages: the share of each batch's sequences drawn from the corpora of <see cref="Mix"/>, trained with the
    /// next-token loss beside the stage's own Data (specs/afmproj.md, MixShare); null (and absent from JSON, so older
    /// fingerprints stand): the batch is the Data only.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? MixShare { get; init; }
    /// <summary>Validation loss is measured every this many steps (and at the end).</summary>
    public required int EvalEvery { get; init; }
    /// <summary>A resumable checkpoint is written every this many steps (0: only at the end of the stage).</summary>
    public int CheckpointEvery { get; init; }
    public StageOptimizer Optimizer { get; init; } = StageOptimizer.AdamW;
    /// <summary>sft stages: the prompt/response JSON lines files (absolute, sorted); empty for pretrain stages.</summary>
    public IReadOnlyList<string> Data { get; init; } = [];
    /// <summary>sft stages: the JSON field holding the prompt (no loss on its tokens).</summary>
    public string PromptField { get; init; } = "prompt";
    /// <summary>sft stages: the JSON field holding the response (the loss is on its tokens and the end-of-document).</summary>
    public string ResponseField { get; init; } = "response";
    /// <summary>reward and dpo stages only; null (and absent from JSON, so older fingerprints stand) for the others.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public PreferenceStageSpec? Preference { get; init; }
    /// <summary>What the stage computes in (Precision metadata); left out of JSON when fp32, so older fingerprints hold.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public TrainingPrecision Precision { get; init; }
    public SourceLocation? Location { get; init; }

    /// <summary>reward, dpo, rejection-sampling and rl stages train on preference data (the last two on its prompts only);
    /// the others are language-model stages.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsPreference => Kind is StageKind.Reward or StageKind.Dpo or StageKind.RejectionSampling or StageKind.Rl;

    public long Steps => Math.Max(1, Tokens / ((long)SequenceLength * BatchSize));

    /// <summary>Sequences of each batch drawn from the <see cref="Mix"/> (an sft stage with a <see cref="MixShare"/>): the
    /// share of <see cref="BatchSize"/>, rounded half away from zero; 0 without a MixShare.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int MixSequencesPerBatch => MixShare is double share ? (int)Math.Round(share * BatchSize, MidpointRounding.AwayFromZero) : 0;

    /// <summary>
    /// The pretraining data an sft stage with a <see cref="MixShare"/> mixes into its batches, as the data stage packs it: a
    /// pretrain stage named <see cref="MixDataName"/> over the stage's Mix, with enough sequences for every step's share (its
    /// validation split measures what the stage keeps of pretraining). Null for every other stage.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TrainingStageSpec? MixData => MixSequencesPerBatch is > 0 and var perBatch
        ? this with
        {
            Name = MixDataName(Name), Kind = StageKind.Pretrain, Tokens = Steps * perBatch * SequenceLength, BatchSize = perBatch,
            MixShare = null, Data = [], Preference = null,
        }
        : null;

    /// <summary>The packed-data name of stage <paramref name="stage"/>'s pretraining mix: '+' is not allowed in stage names,
    /// so it never meets a declared stage.</summary>
    public static string MixDataName(string stage) => stage + "+mix";
}

public sealed record MixEntry(string Corpus, double Weight);
