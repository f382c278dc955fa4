namespace Afm.Onnx.Export;

/// <summary>
/// Which operators the exported decoder is written with (project property <c>AfmOnnxOps</c>, graph metadata
/// <see cref="DecoderNames.Metadata.OnnxOps"/>; specs/onnx-export.md).
/// </summary>
public enum OnnxOps
{
    /// <summary>Standard ONNX ops only (opset 17): runs in any ONNX runtime; the cache is concatenated every step.</summary>
    Standard,
    /// <summary>
    /// ONNX Runtime's contrib kernels for decoder LLMs (com.microsoft GroupQueryAttention, SkipSimplifiedLayerNormalization):
    /// the cache is a preallocated buffer written in place. Needs head_dim a multiple of 8.
    /// </summary>
    Fused,
}

public static class OnnxOpsNames
{
    /// <summary>The property's and the metadata's spelling of each form.</summary>
    public static string Name(this OnnxOps ops) => ops == OnnxOps.Fused ? "fused" : "standard";

    public static OnnxOps? Parse(string? text) => text switch
    {
        "standard" => OnnxOps.Standard,
        "fused" => OnnxOps.Fused,
        _ => null,
    };
}
