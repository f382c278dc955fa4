using System.Text.Json.Serialization;
using Afm.Core.Diagnostics;

namespace Afm.Core.Spec;

/// <summary>The number format a device computes matrix products in (activations and dequantized weights).</summary>
public enum ComputeType { Fp16, Fp32 }

/// <summary>
/// One &lt;DeviceProfile&gt;: the numbers the profile stage's roofline cost model needs (specs/profiling.md).
/// Units are in the names, as in the project metadata, so a number never travels without its unit.
/// </summary>
public sealed record DeviceProfileSpec
{
    public required string Name { get; init; }
    /// <summary>Sustained memory bandwidth, GB/s (10^9 bytes per second).</summary>
    public required double MemoryBandwidthGBps { get; init; }
    /// <summary>Dense fp32 throughput, GFLOP/s.</summary>
    public required double Fp32GFlops { get; init; }
    /// <summary>Dense fp16 throughput, GFLOP/s.</summary>
    public required double Fp16GFlops { get; init; }
    /// <summary>Integer/byte throughput, GOP/s: the rate of lookup-table and int8 dequantization work.</summary>
    public required double Int8GOps { get; init; }
    public required ComputeType ComputeType { get; init; }
    /// <summary>
    /// Rate of attention's arithmetic (batched products over the head dimension, softmax) in the compute type, GFLOP/s;
    /// 0: the compute type's rate. Small inner dimensions run well below a projection's rate on a CPU.
    /// </summary>
    public double AttentionGFlops { get; init; }
    /// <summary>
    /// Rate at which ONNX Runtime's MatMulNBits (resident weights, RuntimeForm="nbits") dequantizes 4-bit weight elements,
    /// G elements/s, beyond the product's FLOPs at the compute rate; null: <see cref="Int8GOps"/>. Measured on <c>host</c>
    /// (specs/profiling.md): ORT's CPU kernel has a fast path for 4 bits only, so each width gets its own rate.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] // measured on host only: absent from spec.json otherwise
    public double? MatMulNBits4GOps { get; init; }
    /// <summary>The same at 2 bits; null: <see cref="Int8GOps"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MatMulNBits2GOps { get; init; }
    /// <summary>
    /// Fixed cost, beyond <see cref="LaunchOverheadUs"/>, of a MatMulNBits product large enough to be split across threads
    /// (waking the thread pool), microseconds per width (4 then 2 bits); null: none. Measured on <c>host</c>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MatMulNBits4ParallelUs { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MatMulNBits2ParallelUs { get; init; }
    /// <summary>
    /// True when the MatMulNBits figures were measured with int8 activations (plan RuntimeActivations="int8", accuracy_level 4),
    /// the graph's form: an 8-bit weight is then one node, not two 4-bit halves. Null: float32 activations.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? MatMulNBitsInt8Activations { get; init; }
    /// <summary>
    /// Fixed cost of one norm kernel over several short rows (QK-norm over the heads), microseconds: on a CPU the rows are
    /// split across threads, which costs more than <see cref="LaunchOverheadUs"/>; null: <see cref="LaunchOverheadUs"/>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? RowsNormOverheadUs { get; init; }
    /// <summary>
    /// Measured rate of a float product [n, in] x [in, out] per weight shape (key <see cref="ProductKey"/>), GFLOP/s; a shape
    /// without one runs at <see cref="ComputeGFlops"/>. Measured on <c>host</c> for the model's projection shapes: on a CPU the
    /// rate depends on the shape (whether the weight stays in cache, the inner dimension), 16-97 GFLOP/s on one machine.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? ProductGFlops { get; init; }
    /// <summary>
    /// Measured rate of a prompt's further tokens through MatMulNBits per width and weight shape (key <see cref="NBitsProductKey"/>),
    /// GFLOP/s: what a product [n, in] x [in, out] takes beyond one token's (<see cref="MatMulNBitsGOps"/>, the split cost), over
    /// its (n - 1) x 2 x in x out FLOPs. Measured on <c>host</c> at the graph's activations (accuracy_level): MLAS' kernels run them
    /// neither at the float Gemm's rate of the shape nor at one ratio to it (per width, activations and CPU: 0.5-2x it); a shape
    /// without one runs at <see cref="ProductRateGFlops"/>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? MatMulNBitsPromptGFlops { get; init; }
    /// <summary>Fixed cost of dispatching one operation, microseconds.</summary>
    public required double LaunchOverheadUs { get; init; }
    /// <summary>Energy of moving one byte between memory and the compute units, picojoules.</summary>
    public required double EnergyPerBytePj { get; init; }
    /// <summary>Energy of one arithmetic operation (a FLOP or a lookup), picojoules.</summary>
    public required double EnergyPerOpPj { get; init; }
    /// <summary>Power drawn while the model runs regardless of work, milliwatts (multiplied by latency).</summary>
    public required double StaticPowerMw { get; init; }
    /// <summary>Memory available to the model, GB (10^9 bytes).</summary>
    public required double MemoryGB { get; init; }
    /// <summary>Tokens of the prompt whose prefill is costed; null: the stage chooses (specs/profiling.md).</summary>
    public int? PromptTokens { get; init; }
    /// <summary>Context length of the costed decode step; null: the model's MaxSequenceLength.</summary>
    public int? ContextTokens { get; init; }
    /// <summary>True for the <c>host</c> profile: the profile stage measures this machine and replaces the numbers.</summary>
    public bool Calibrate { get; init; }
    public SourceLocation? Location { get; init; }

    public double ComputeGFlops => ComputeType == ComputeType.Fp16 ? Fp16GFlops : Fp32GFlops;
    /// <summary>The key of a product's weight shape in <see cref="ProductGFlops"/>: inputs x outputs.</summary>
    public static string ProductKey(long inputs, long outputs) => $"{inputs}x{outputs}";
    /// <summary>The rate of a product with an [outputs, inputs] weight: its measured one, else <see cref="ComputeGFlops"/>.</summary>
    public double ProductRateGFlops(long inputs, long outputs) =>
        ProductGFlops is { } rates && rates.TryGetValue(ProductKey(inputs, outputs), out var rate) && rate > 0 ? rate : ComputeGFlops;
    /// <summary>The key of a MatMulNBits product's width and weight shape in <see cref="MatMulNBitsPromptGFlops"/>: bits, inputs x outputs.</summary>
    public static string NBitsProductKey(int bits, long inputs, long outputs) => $"{bits}:{inputs}x{outputs}";
    /// <summary>
    /// The rate of a prompt's further tokens through MatMulNBits of <paramref name="bits"/> with an [outputs, inputs] weight: its
    /// measured one, else the float product's of the shape (<see cref="ProductRateGFlops"/>).
    /// </summary>
    public double MatMulNBitsPromptRateGFlops(int bits, long inputs, long outputs) =>
        MatMulNBitsPromptGFlops is { } rates && rates.TryGetValue(NBitsProductKey(bits, inputs, outputs), out var rate) && rate > 0 ? rate : ProductRateGFlops(inputs, outputs);
    /// <summary>The rate attention's FLOPs run at: <see cref="AttentionGFlops"/>, or the compute rate when it is 0.</summary>
    public double AttentionRateGFlops => AttentionGFlops > 0 ? AttentionGFlops : ComputeGFlops;
    /// <summary>The dequantization rate of resident weights of <paramref name="bits"/> (8 bits run as two 4-bit halves).</summary>
    public double MatMulNBitsGOps(int bits) => (bits == 2 ? MatMulNBits2GOps : MatMulNBits4GOps) ?? Int8GOps;
    public double MatMulNBitsParallelUs(int bits) => (bits == 2 ? MatMulNBits2ParallelUs : MatMulNBits4ParallelUs) ?? 0;
    public int ActivationBytes => ComputeType == ComputeType.Fp16 ? 2 : 4;
}
