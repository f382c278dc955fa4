using Afm.Onnx.Graph;

namespace Afm.Onnx.Export;

/// <summary>
/// The LoRA term of one projection, y = x W^T + (x A^T) B^T, over optional graph inputs in training layout:
/// <c>N.lora_A</c> [rank, in] and <c>N.lora_B</c> [out, rank], the names and layout of the adapter's safetensors, so
/// an adapter file is those tensors byte for byte. Both are graph inputs with empty initializers (rank 0): with no
/// adapter active, x A^T is [rows, 0] and the second Gemm returns its C input, the base output, unchanged.
/// Two Gemm nodes (transB=1, the second adding the base output as C) rather than MatMul + Transpose + Add: no
/// transposed copy of A or B, and no separate Add node per projection.
/// </summary>
internal static class LoraProjection
{
    /// <summary>Symbolic name of the rank dimension: adapters of any rank feed the same inputs.</summary>
    public const string RankDimension = "lora_rank";

    public static string Apply(OnnxGraphBuilder graph, string x, string projected, string weightName, long outDim, long inDim)
    {
        var a = graph.OptionalInput(DecoderNames.LoraA(weightName), [], [0, inDim], RankDimension, inDim);
        var b = graph.OptionalInput(DecoderNames.LoraB(weightName), [], [outDim, 0], outDim, RankDimension);
        var down = graph.Node("Gemm", [x, a], null, Attr.Int("transB", 1));
        return graph.Node("Gemm", [down, b, projected], null, Attr.Int("transB", 1));
    }
}
