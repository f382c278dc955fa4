using Afm.Onnx.Graph;

namespace Afm.Onnx.Export;

/// <summary>
/// Turns an <see cref="ExportWeight"/> into the graph value holding its float tensor, in the weight's own
/// layout (<c>[out, in]</c> for linear layers, <c>[vocab, dim]</c> for the embedding). Consumers use
/// <c>Gemm(transB=1)</c> and <c>Gather</c>, so no transposed copy is ever needed, whatever the stored form.
/// </summary>
internal static class WeightLowering
{
    public static string Emit(OnnxGraphBuilder graph, string name, ExportWeight weight) => weight switch
    {
        FloatWeight f => graph.Initializer(name, f.Validate(name).Values, f.Shape),
        // A compressed form would add its nodes here (e.g. Gather(lut, indices) -> Reshape, or
        // DequantizeLinear(int8, scale, axis=0)); until the compression stage exists there is none.
        _ => throw new NotSupportedException($"Weight '{name}' is stored as {weight.GetType().Name}, which the ONNX exporter cannot lower yet."),
    };
}
