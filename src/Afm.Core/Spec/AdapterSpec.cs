using Afm.Core.Diagnostics;

namespace Afm.Core.Spec;

/// <summary>accuracy-recovery: LoRA on the frozen (quantized) base, trained on pretraining data. feature: LoRA trained on prompt/response data.</summary>
public enum AdapterKind { AccuracyRecovery, Feature }

/// <summary>
/// What a recovery adapter minimizes (specs/adapters.md): next-token cross-entropy on the stage's data, the KL divergence of the
/// float model's next-token distribution to the adapted model's (distillation, what grid tuning minimizes), or a weighted
/// sum of the two (mix, weight <see cref="AdapterSpec.Distillation"/> on the KL).
/// </summary>
public enum AdapterObjective { NextToken, Distill, Mix }

/// <summary>
/// How a recovery adapter starts (specs/adapters.md, Init): <see cref="Zero"/> is B = 0, the adapted model starts as its base;
/// <see cref="Error"/> starts from the rank-r pair closest to the quantization error (float minus dequantized weight) in the
/// projection's output on calibration activations, so the adapted model starts near the float one.
/// </summary>
public enum AdapterInit { Zero, Error }

/// <summary>
/// One adapter the adapters stage trains (specs/adapters.md). An accuracy-recovery item with <c>Ranks="8;16;32"</c>
/// becomes one spec per rank, named <c>&lt;item&gt;-r&lt;rank&gt;</c>; a feature item is one spec named as the item.
/// Adapters are trained in this list's order, recovery adapters first, so an InitFrom source always exists.
/// </summary>
public sealed record AdapterSpec
{
    /// <summary>The adapter's name: its folder under adapters/ and its name in the artifact (e.g. recovery-r16).</summary>
    public required string Name { get; init; }
    /// <summary>The Adapter item's Include (e.g. recovery): what InitFrom names.</summary>
    public required string Item { get; init; }
    public required AdapterKind Kind { get; init; }
    public required int Rank { get; init; }
    /// <summary>LoRA alpha: the update is scaled by Alpha / Rank while training (folded into B in the file).</summary>
    public required double Alpha { get; init; }
    /// <summary>The adapter's own version (Version metadata, default the project's Version).</summary>
    public required string Version { get; init; }
    public required long Tokens { get; init; }
    public required int SequenceLength { get; init; }
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }
    public required int WarmupSteps { get; init; }
    public required double FinalLearningRateRatio { get; init; }
    /// <summary>accuracy-recovery: the pretrain TrainingStage whose packed data (its Mix) the adapter trains and is measured on.</summary>
    public string? TrainingStage { get; init; }
    /// <summary>accuracy-recovery: what the adapter minimizes; <see cref="Distillation"/> is its weight on the KL term.</summary>
    public AdapterObjective Objective { get; init; }
    /// <summary>
    /// accuracy-recovery: weight in [0, 1] of distillation from the float model (KL of its next-token distribution) in the
    /// loss the trainer minimizes: 0 for next-token, 1 for distill, the Distillation metadata (default 0.5) for mix.
    /// </summary>
    public double Distillation { get; init; }
    /// <summary>
    /// accuracy-recovery: also train the same adapter (same seed, data order, steps and objective) on the float model, so the
    /// report separates what the adapter recovers from what the same training gains on a model that lost nothing.
    /// </summary>
    public bool Control { get; init; }
    /// <summary>
    /// accuracy-recovery: how the adapter starts (Init metadata). Left out of JSON when zero, so fingerprints of adapters
    /// that started from zero before Init existed hold.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public AdapterInit Init { get; init; }
    /// <summary>feature: prompt/response JSON lines files (absolute, sorted).</summary>
    public IReadOnlyList<string> Data { get; init; } = [];
    public string PromptField { get; init; } = "prompt";
    public string ResponseField { get; init; } = "response";
    /// <summary>feature: the adapter (by <see cref="Name"/>) whose weights this one starts from, or null for a fresh (B = 0) start.</summary>
    public string? InitFrom { get; init; }
    /// <summary>What the adapter trains in (Precision metadata); left out of JSON when fp32, so older fingerprints hold.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public TrainingPrecision Precision { get; init; }
    public SourceLocation? Location { get; init; }

    public long Steps => Math.Max(1, Tokens / ((long)SequenceLength * BatchSize));

    /// <summary>The file-metadata keyword of <see cref="Kind"/>.</summary>
    public string KindName => Kind == AdapterKind.AccuracyRecovery ? "accuracy-recovery" : "feature";

    /// <summary>The Init keyword of <see cref="Init"/>, as a project writes it.</summary>
    public string InitName => Init == AdapterInit.Error ? "error" : "zero";

    /// <summary>The Objective keyword of <see cref="Objective"/>, as a project writes it.</summary>
    public string ObjectiveName => Objective switch
    {
        AdapterObjective.Distill => "distill",
        AdapterObjective.Mix => "mix",
        _ => "next-token",
    };
}
