namespace Afm.Compression.Reports;

/// <summary>
/// reports/quantization.json: what the quantize stage did and what it cost, for CI gates and people. Every
/// number is rounded (<see cref="Round"/>) so the same build gives the same bytes; timings never appear here.
/// </summary>
public sealed record QuantizationReport
{
    public const int CurrentFormatVersion = 1;
    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public required PlanSummary Plan { get; init; }
    public required IReadOnlyList<LayerReport> Layers { get; init; }
    public required Totals Totals { get; init; }
    public required PerplexityReport Perplexity { get; init; }
    /// <summary>Best predicted loss increase at each size the allocator could reach (bits per weight of the quantized layers).</summary>
    public required IReadOnlyList<FrontierEntry> Frontier { get; init; }
    /// <summary>What the report does not cover, in words (e.g. latency and energy without a profile stage).</summary>
    public required IReadOnlyList<string> Notes { get; init; }
    /// <summary>Estimated cost of one decode step of the whole model on each profiled device (empty without DeviceProfile items).</summary>
    public IReadOnlyList<DeviceSummary> Devices { get; init; } = [];

    public static double Round(double value, int decimals) => Math.Round(value, decimals, MidpointRounding.ToEven);
}

public sealed record PlanSummary(string Name, string Method, int Bits, int LowBits, int GroupSize, string LutType, string Embedding,
    string Importance, double? TargetBitsPerWeight, long? MaxWeightBytes, string? Device, int CalibrationSequences, int ValidationSequences,
    double? MaxLatencyMs = null, double? MaxEnergyMj = null, string Rounding = "gptq", int TuningSteps = 0);

/// <param name="Format">palettize | uniform | int8-per-channel | float.</param>
/// <param name="Role">allocated (the allocator chose the bits), override, embedding, float (kept), vector (norms).</param>
/// <param name="Sensitivity">Calibration loss increase when this layer alone is quantized, per candidate bits ("2" -> 0.0123).</param>
/// <param name="LossContribution">The sensitivity at the chosen format, negative values (calibration noise) counted as 0: this layer's share of the predicted loss increase.</param>
/// <param name="Devices">Estimated latency/energy/bytes of this layer in one decode step per profiled device (null without profiles
/// or for weights the profile does not cost separately: norm vectors).</param>
/// <param name="ReconstructionError">Relative weight error ||W - Q(W)|| / ||W||.</param>
/// <param name="OutputError">Relative output error on the calibration inputs, sqrt(tr(dW H dW^T) / tr(W H W^T)) with H the
/// input second moment: what GPTQ rounding minimises (it may raise the weight error to lower this). Null for the embedding.</param>
/// <param name="RuntimeForm">What ONNX Runtime runs the weight as (<see cref="Storage.RuntimeForms"/>): matmulnbits,
/// gatherblockquantized (resident compressed), expand (expanded to float32 at load) or float.</param>
/// <param name="ResidentBytes">Bytes of the weight's initializers as ONNX Runtime holds them in that form.</param>
public sealed record LayerReport(string Name, IReadOnlyList<long> Shape, long Parameters, string Format, string Role, int? Bits, int? GroupSize,
    double BitsPerWeight, long Bytes, double? ReconstructionError, IReadOnlyDictionary<string, double>? Sensitivity, double? LossContribution,
    IReadOnlyDictionary<string, DeviceEstimate>? Devices, double? OutputError = null, string RuntimeForm = "", long ResidentBytes = 0);

/// <param name="Bytes">Weight bytes as the device's cost model counts them (indices, LUTs, scales).</param>
public sealed record DeviceEstimate(double? LatencyMs, double? EnergyMj, long Bytes);

/// <param name="Phase">The costed workload: "decode", one generated token at <paramref name="ContextTokens"/> of context.</param>
/// <param name="Measured">The device's numbers were measured on the build machine (they vary from run to run).</param>
/// <param name="Quantized">The chosen allocation, every layer in its stored format.</param>
/// <param name="Float">The float model in the device's baseline format (fp16 or fp32 compute).</param>
/// <param name="Budget">Whether the plan's MaxLatencyMs/MaxEnergyMj constrained the allocation on this device.</param>
public sealed record DeviceSummary(string Name, string Phase, int ContextTokens, bool Measured, DeviceEstimate Quantized, DeviceEstimate Float, bool Budget);

/// <param name="BitsPerWeight">Effective bits per weight of the quantized (palettized or uniform) layers: what TargetBitsPerWeight constrains.</param>
/// <param name="ModelBitsPerWeight">Every stored byte of the weights file's tensors (int8 embedding, float norms included) over every parameter.</param>
/// <param name="WeightBytes">Bytes of the tensors of the quantized weights file (what MaxWeightBytes constrains).</param>
/// <param name="ResidentBytes">Every layer's <see cref="LayerReport.ResidentBytes"/>: the weights as ONNX Runtime holds them while the model runs.</param>
public sealed record Totals(long Parameters, long QuantizedParameters, double BitsPerWeight, double ModelBitsPerWeight, long WeightBytes,
    long FloatBytes, double PredictedLossIncrease, long ResidentBytes = 0);

/// <param name="UniformBaseline">The uniform round-to-nearest baseline at the same bits per layer and the same effective bits per weight (palettize plans only).</param>
/// <param name="QuantizedDivergence">Mean KL(float || quantized) of the next-token distributions on the validation sequences, nats/token.</param>
/// <param name="UniformBaselineDivergence">The same for the uniform baseline.</param>
public sealed record PerplexityReport(double Float, double? UniformBaseline, double Quantized, double FloatLoss, double? UniformBaselineLoss,
    double QuantizedLoss, double CalibrationFloatLoss, double? QuantizedDivergence = null, double? UniformBaselineDivergence = null);

/// <param name="Devices">The whole model's estimated decode step at this point, per profiled device (null without profiles).</param>
public sealed record FrontierEntry(double BitsPerWeight, double PredictedLossIncrease, bool Chosen,
    IReadOnlyDictionary<string, DeviceEstimate>? Devices = null);
