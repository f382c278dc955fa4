namespace Afm.Profiling.Model;

/// <summary>What an operation computes; each kind has one ONNX realization (see <see cref="Op.Kernels"/>).</summary>
public enum OpKind { Embedding, RmsNorm, Linear, QkNorm, Rope, Attention, Residual, SwiGlu, Positions }

/// <summary>
/// One operation of the decoder for one workload, with the work that does not depend on the weight format:
/// FLOPs, activation bytes, and the shape of the weight it reads (if any). The cost model adds the weight bytes
/// and dequantization work of a format (<see cref="CostModel"/>).
/// </summary>
/// <param name="Name">Unique name: the weight's layer name for projections (<c>layers.0.attn.q_proj</c>), else a descriptive one.</param>
/// <param name="Layer">The layer name whose weight format applies (<c>embed</c> for the tied output projection), or null for weightless ops.</param>
/// <param name="Group">Block the op belongs to, for the chart's stacks: <c>embed</c>, <c>layers.0</c>, ..., <c>head</c>.</param>
/// <param name="WeightRows">Rows of the weight matrix ([out, in] for projections, [vocab, dim] for the embedding).</param>
/// <param name="WeightRowsRead">Rows actually read: all for a product, the looked-up tokens for an embedding.</param>
/// <param name="Flops">Arithmetic operations, not counting dequantization.</param>
/// <param name="ActivationBytes">Bytes of activations and KV cache read and written.</param>
/// <param name="FixedWeightBytes">Float32 weights whose format never changes (norm scales, q/k/v biases).</param>
/// <param name="Kernels">ONNX nodes the export uses for the op: each pays the device's launch overhead.</param>
public sealed record Op(string Name, OpKind Kind, string? Layer, string Group, long WeightRows, long WeightColumns, long WeightRowsRead,
    long Flops, long ActivationBytes, long FixedWeightBytes, int Kernels)
{
    public bool HasWeight => Layer is not null;

    /// <summary>
    /// Kernels of the op when its weight runs resident at each width (2, 4, 8 bits), counted on the export of that form
    /// (MatMulNBits, the nibble pair of 8 bits, GatherBlockQuantized); null when the profiled graph runs no weight resident.
    /// </summary>
    public IReadOnlyDictionary<int, int>? NBitsKernels { get; init; }

    /// <summary>The kernels ONNX Runtime runs for the op with its weight in <paramref name="format"/>.</summary>
    public int KernelsIn(Formats.WeightFormat format) =>
        format.Kind == Formats.FormatKind.NBits && NBitsKernels is { } resident && resident.TryGetValue(format.Bits, out var k) ? k : Kernels;

    /// <summary>Index of the decoder block the op is part of (its shape is <c>ArchitectureSpec.Layer(Block)</c>), or null outside the blocks.</summary>
    public int? Block { get; init; }
}
