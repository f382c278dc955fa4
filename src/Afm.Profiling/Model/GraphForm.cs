using Afm.Core.Spec;
using Afm.Profiling.Formats;

namespace Afm.Profiling.Model;

/// <summary>
/// Which graph the export writes, as far as its kernels go: the operators (<see cref="OnnxOps"/>: standard opset 17, or ONNX
/// Runtime's fused contrib ops) and whether compressed weights stay resident (<c>RuntimeForm="nbits"</c>: projections as
/// MatMulNBits, the int8 embedding as GatherBlockQuantized and its tied head as two 4-bit MatMulNBits over its nibbles) or are
/// expanded to float at load (then the graph ORT runs is the float one). The profile follows the form of the project's
/// export, so a costed kernel is one `afm run` executes (specs/profiling.md, "The graph the plan exports").
/// </summary>
/// <param name="NBits">Bits of every projection when weights run resident (2, 4 or 8), or 0 for a float (or expanded) graph.</param>
/// <param name="Activations">What the resident projections multiply with (the plan's RuntimeActivations: MatMulNBits' accuracy_level).</param>
public sealed record GraphForm(OnnxOps Ops, int NBits = 0, RuntimeActivations Activations = RuntimeActivations.Float32)
{
    public static readonly GraphForm Float = new(OnnxOps.Standard);

    public bool Resident => NBits != 0;

    /// <summary>The form of this project's export: its <c>AfmOnnxOps</c>, and resident weights when its plan says RuntimeForm="nbits".</summary>
    public static GraphForm Of(ModelSpec spec) =>
        spec.Quantization is { RuntimeForm: RuntimeForm.NBits } plan ? new(spec.OnnxOps, plan.Bits, plan.RuntimeActivations) : new(spec.OnnxOps);

    /// <summary>The same operators with every resident projection at <paramref name="bits"/> (a census of each width the profile tabulates).</summary>
    public GraphForm WithNBits(int bits) => this with { NBits = bits };

    /// <summary>
    /// The format this graph runs an op's weight in when every weight is in the form's default: resident projections at
    /// <see cref="NBits"/> (a row no MatMulNBits block tiles stays float), the int8 embedding and its tied head as nbits8
    /// (GatherBlockQuantized, the nibble pair), everything float in a float graph.
    /// </summary>
    public WeightFormat FormatOf(Op op) =>
        !Resident || !op.HasWeight || WeightFormat.NBitsBlock(op.WeightColumns) is null ? WeightFormat.Fp32
        : op.Layer == "embed" ? WeightFormat.NBits(8) : WeightFormat.NBits(NBits);

    public string Name => (Ops == OnnxOps.Fused ? "fused" : "standard") + (Resident ? $", MatMulNBits {NBits}-bit" : ", float")
        + (Resident && Activations == RuntimeActivations.Int8 ? ", int8 activations" : "");
}
