using Afm.Core.Diagnostics;

namespace Afm.Core.Spec;

/// <summary>How the weights of the linear layers are compressed (specs/quantization.md).</summary>
public enum QuantizationMethod
{
    /// <summary>k-means lookup tables shared by groups of output channels.</summary>
    Palettize,
    /// <summary>Round-to-nearest on an evenly spaced grid per block (the baseline palettization is judged against).</summary>
    Uniform,
}

/// <summary>Storage of a palettization lookup table.</summary>
public enum LutType { Fp16, Int8 }

/// <summary>How the token embedding (also the output projection when tied) is stored.</summary>
public enum EmbeddingFormat
{
    /// <summary>int8 per row (one fp16 scale per token).</summary>
    Int8PerChannel,
    /// <summary>Like every other layer, with the plan's method and the bits the allocator gives it.</summary>
    Quantize,
    /// <summary>Kept in float32.</summary>
    Float,
}

/// <summary>What the calibration weights k-means with.</summary>
public enum ImportanceKind
{
    /// <summary>Diagonal Fisher: squared gradients of the loss on a calibration batch (as SqueezeLLM does).</summary>
    Fisher,
    /// <summary>Every weight counts the same.</summary>
    None,
}

/// <summary>How each weight is mapped to its grid (the LUT or the uniform levels) once the grid is fixed.</summary>
public enum RoundingKind
{
    /// <summary>
    /// GPTQ's error-compensating rounding on the layer's input second moment from the calibration sequences: each
    /// rounding error is spread over the not-yet-rounded weights of its row, so the layer's output error is minimised;
    /// palettization then refits the LUT to that output error.
    /// </summary>
    Gptq,
    /// <summary>Every weight to its nearest grid value.</summary>
    Nearest,
}

/// <summary>The form the quantized linear layers take in the exported graph (specs/quantization.md, "Runtime form").</summary>
public enum RuntimeForm
{
    /// <summary>Stored compressed and expanded to float by standard ops (at session load, or in every run).</summary>
    Expand,
    /// <summary>
    /// Resident compressed: ONNX Runtime's com.microsoft MatMulNBits reads the packed weights directly. The quantizer lays
    /// uniform blocks along each row (the input dimension) with integer zero points, or constrains each palette to an
    /// evenly spaced grid with an integer zero point: the layouts that op runs exactly.
    /// </summary>
    NBits,
}

/// <summary>
/// What a resident projection (<see cref="RuntimeForm.NBits"/>) multiplies its packed weights with (specs/quantization.md,
/// "Runtime activations"): MatMulNBits' <c>accuracy_level</c>.
/// </summary>
public enum RuntimeActivations
{
    /// <summary>The float32 activations as they are (accuracy_level 0): exact products, the TorchSharp model's logits within 1e-3.</summary>
    Float32,
    /// <summary>
    /// Activations quantized to int8 per block of the weight's block size (accuracy_level 4): the CPU's integer dot-product
    /// kernels (AVX-512 VNNI, AVX-VNNI, ARM dot product), faster, with a documented tolerance instead of 1e-3.
    /// </summary>
    Int8,
}

/// <summary>A layer-name pattern (<c>*</c> matches any run of characters) and the bits it forces.</summary>
public sealed record BitsOverride(string Pattern, int Bits);

/// <summary>The one &lt;QuantizationPlan&gt; item of a project: what the quantize stage does.</summary>
public sealed record QuantizationPlanSpec
{
    public required string Name { get; init; }
    public required QuantizationMethod Method { get; init; }
    /// <summary>Bits of every layer the allocator does not lower.</summary>
    public required int Bits { get; init; }
    /// <summary>Bits of the layers the allocator lowers to meet the target.</summary>
    public required int LowBits { get; init; }
    /// <summary>Output channels (rows of a [out, in] weight) that share one lookup table.</summary>
    public required int GroupSize { get; init; }
    public required LutType LutType { get; init; }
    public required EmbeddingFormat Embedding { get; init; }
    public required ImportanceKind Importance { get; init; }
    public RoundingKind Rounding { get; init; } = RoundingKind.Gptq;
    public RuntimeForm RuntimeForm { get; init; } = RuntimeForm.Expand;
    /// <summary>What the resident projections multiply with (only with <see cref="RuntimeForm.NBits"/>).</summary>
    public RuntimeActivations RuntimeActivations { get; init; } = RuntimeActivations.Float32;
    /// <summary>Mean effective bits per weight of the quantized layers, or null for no target.</summary>
    public double? TargetBitsPerWeight { get; init; }
    /// <summary>Upper bound on the bytes of the quantized weights file's tensor data, or null.</summary>
    public long? MaxWeightBytes { get; init; }
    /// <summary>Budget on the estimated latency of one decode step on <see cref="Device"/> (profile stage costs).</summary>
    public double? MaxLatencyMs { get; init; }
    /// <summary>Budget on the estimated energy of one decode step on <see cref="Device"/> (profile stage costs).</summary>
    public double? MaxEnergyMj { get; init; }
    /// <summary>Name of the DeviceProfile the budgets refer to, or null.</summary>
    public string? Device { get; init; }
    /// <summary>In declaration order; the first pattern that matches a layer wins.</summary>
    public required IReadOnlyList<BitsOverride> Overrides { get; init; }
    /// <summary>Layer-name patterns kept in float32.</summary>
    public required IReadOnlyList<string> KeepFloat { get; init; }
    /// <summary>Training sequences used to measure sensitivity and importance.</summary>
    public required int CalibrationSequences { get; init; }
    /// <summary>Upper bound on k-means iterations (it stops earlier when no assignment changes).</summary>
    public required int KMeansIterations { get; init; }
    /// <summary>Steps of end-to-end grid tuning (LUT entries, uniform scales and offsets) against the float model; 0 turns it off.</summary>
    public int TuningSteps { get; init; } = Reading.QuantizationPlanReader.DefaultTuningSteps;
    /// <summary>Adam's step of grid tuning, in units of each layer's mean grid spacing.</summary>
    public double TuningLearningRate { get; init; } = Reading.QuantizationPlanReader.DefaultTuningLearningRate;
    public SourceLocation? Location { get; init; }
    /// <summary>Where TargetBitsPerWeight / MaxWeightBytes were written, for errors found while quantizing.</summary>
    public SourceLocation? TargetLocation { get; init; }
    public SourceLocation? MaxWeightBytesLocation { get; init; }
    public SourceLocation? MaxLatencyMsLocation { get; init; }
    public SourceLocation? MaxEnergyMjLocation { get; init; }
}
