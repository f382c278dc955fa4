namespace Afm.Training.Adapters;

/// <summary>
/// What the adapters stage measured for one adapter (reports/adapters.json). Losses are mean nats per target token on
/// validation data: the recovery adapter's TrainingStage validation split (every token), or the feature adapter's
/// held-out examples (response tokens only). Perplexity = exp(loss).
/// </summary>
public sealed record AdapterResult
{
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public required int Rank { get; init; }
    public required double Alpha { get; init; }
    public required string Version { get; init; }
    public string? InitFrom { get; init; }
    /// <summary>Where the validation numbers come from: "stage &lt;name&gt;" or "examples of &lt;name&gt;".</summary>
    public required string Data { get; init; }
    public required long Steps { get; init; }
    public required long Tokens { get; init; }
    public required long Parameters { get; init; }
    /// <summary>Size of adapter.safetensors in bytes.</summary>
    public required long Bytes { get; init; }
    public required string BaseSha256 { get; init; }
    /// <summary>Hash of everything the adapter depends on; an adapter whose fingerprint is unchanged is not trained again.</summary>
    public required string Fingerprint { get; init; }
    public required int ValidationSequences { get; init; }
    /// <summary>What the adapter trained in (fp32 or bf16-mixed) and why (specs/afmproj.md, "Precision"); null in results written before Precision existed.</summary>
    public string? Precision { get; init; }
    public string? PrecisionReason { get; init; }
    /// <summary>The float (unquantized) model; recovery adapters only.</summary>
    public double? FloatLoss { get; init; }
    /// <summary>The base the adapter runs on (quantized when the project has a plan), without adapter.</summary>
    public required double BaseLoss { get; init; }
    /// <summary>Feature adapters: the base with the adapter's initial weights (the recovery adapter it starts from; equal to BaseLoss from zero).</summary>
    public double? InitialLoss { get; init; }
    public required double AdaptedLoss { get; init; }
    /// <summary>Recovery adapters: what the adapter minimized (next-token, distill, mix) and its weight on the KL term.</summary>
    public string? Objective { get; init; }
    public double? Distillation { get; init; }
    /// <summary>Recovery adapters with Control="true" on a quantized base: the float model with the control adapter (f+a).</summary>
    public double? ControlLoss { get; init; }
    /// <summary>Recovery adapters: KL(float ‖ base) and KL(float ‖ base + adapter) of the next-token distributions, nats/token.</summary>
    public double? BaseDivergence { get; init; }
    public double? AdaptedDivergence { get; init; }
    /// <summary>
    /// Recovery adapters started from the quantization error (Init="error"): KL(float ‖ base + adapter) before the first step,
    /// what the closed form alone wins; null from zero (it is then <see cref="BaseDivergence"/>).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? InitialDivergence { get; init; }
    /// <summary>Recovery adapters: how the adapter started (zero, error); left out of results of zero starts written before Init existed.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Init { get; init; }
    /// <summary>Recovery adapters: the quantization loss and the shares recovered, with bootstrap intervals.</summary>
    public RecoveryMeasurement? Recovery { get; init; }
    /// <summary>Recovery adapters with a control: KL(float ‖ float with one part quantized), without and with the adapter's pairs of that part, per part.</summary>
    public IReadOnlyList<LayerDivergence>? LayerDivergences { get; init; }
    public double? FloatPerplexity => FloatLoss is double l ? Math.Exp(l) : null;
    public double BasePerplexity => Math.Exp(BaseLoss);
    public double AdaptedPerplexity => Math.Exp(AdaptedLoss);
    /// <summary>
    /// Recovery adapters: (ppl_base - ppl_adapted) / (ppl_base - ppl_float), the share of the quantization perplexity loss
    /// recovered (above 1: better than the float model); null when quantization lost nothing.
    /// </summary>
    public double? RecoveredShare => FloatPerplexity is double f && BasePerplexity > f ? (BasePerplexity - AdaptedPerplexity) / (BasePerplexity - f) : null;

    /// <summary>
    /// <see cref="RecoveredShare"/> in words. Above 100% the adapted model is better than float: the adapter recovered the
    /// quantization loss and then trained the model further on its own tokens, and a percentage of a small quantization
    /// loss (thousands of percent) would say nothing about recovery.
    /// </summary>
    public string DescribeRecovery() => RecoveredShare switch
    {
        double s when s > 1 => "all, and below float (the adapter's own training)",
        double s => s.ToString("P1", System.Globalization.CultureInfo.InvariantCulture),
        _ => "n/a",
    };
    public required IReadOnlyList<AdapterTrainPoint> TrainCurve { get; init; }
}

/// <summary>reports/adapters.json.</summary>
public sealed record AdaptersReport
{
    /// <summary>"quantized" when the adapters were trained on the dequantized palettized base, else "float".</summary>
    public required string Base { get; init; }
    public required string BaseSha256 { get; init; }
    public required IReadOnlyList<AdapterResult> Adapters { get; init; }
}
