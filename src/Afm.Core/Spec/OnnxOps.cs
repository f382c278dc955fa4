namespace Afm.Core.Spec;

/// <summary>
/// Which operators the exported decoder is written with (project property <c>AfmOnnxOps</c>, graph metadata
/// <c>afm.onnx_ops</c>; specs/afmproj.md, specs/onnx-export.md "The fused graph").
/// </summary>
public enum OnnxOps
{
    /// <summary>Standard ONNX ops only (opset 17): runs in any ONNX runtime; the cache is concatenated every step.</summary>
    Standard,
    /// <summary>
    /// ONNX Runtime's contrib kernels for decoder LLMs (com.microsoft GroupQueryAttention, SkipSimplifiedLayerNormalization):
    /// the cache is a preallocated buffer written in place. Needs a head width GroupQueryAttention runs (<see cref="OnnxOpsNames.FusedSupports"/>).
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

    /// <summary>
    /// Whether ONNX Runtime's GroupQueryAttention runs this head width: its CPU kernel (1.31) refuses one that is not a
    /// multiple of 8 (group_query_attention_helper.h).
    /// </summary>
    public static bool FusedSupports(int headDim) => headDim % 8 == 0;

    /// <summary>
    /// The form a project gets without <c>AfmOnnxOps</c>: standard. Measured (bench/Afm.Bench.Peers/README.md, "Standard vs
    /// fused graph"), the fused graph did not win: on the 88M-parameter bench model it prefilled ~500 tokens ~1.4x slower
    /// (cause not established) and decoded at the same speed within the noise of a loaded machine, so it stays opt-in
    /// until a quiet measurement says otherwise.
    /// </summary>
    public const OnnxOps Default = OnnxOps.Standard;
}
