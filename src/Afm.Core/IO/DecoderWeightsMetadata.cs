using System.Globalization;
using Afm.Core.Spec;

namespace Afm.Core.IO;

/// <summary>
/// The string metadata of a decoder weights file (the train stage's <c>model.safetensors</c>): the architecture facts an
/// exporter needs that are not in the tensor names, and the RoPE base the weights were trained with. One writer for the
/// trainer and the checkpoint importer, so both files say the same things in the same words.
/// </summary>
public static class DecoderWeightsMetadata
{
    public const string RopeBaseKey = "rope_base";

    /// <summary>
    /// The generalized decoder's fields are written only where they differ from the AFM decoder's (an explicit head width,
    /// biases, per-layer shapes as comma-separated lists in layer order), so a uniform model's file is byte for byte what
    /// it was before them.
    /// </summary>
    public static Dictionary<string, string> For(ArchitectureSpec a, double ropeBase)
    {
        string F(double d) => d.ToString("R", CultureInfo.InvariantCulture);
        string I(int i) => i.ToString(CultureInfo.InvariantCulture);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "afm-decoder-v1",
            ["model_dim"] = I(a.ModelDim), ["layers"] = I(a.Layers), ["heads"] = I(a.Heads), ["kv_heads"] = I(a.KvHeads),
            ["ffn_dim"] = I(a.FfnDim), ["vocab_size"] = I(a.VocabSize), ["qk_norm"] = a.QkNorm ? "true" : "false",
            ["tie_embeddings"] = a.TieEmbeddings ? "true" : "false", ["norm_epsilon"] = F(a.NormEpsilon),
            [RopeBaseKey] = F(ropeBase), ["rope_style"] = "rotate_half",
        };
        if (a.ExplicitHeadDim is int headDim) metadata["head_dim"] = I(headDim);
        if (a.AttentionBias) metadata["attention_bias"] = "true";
        if (a.LayerShapes is { } shapes)
        {
            string List(Func<LayerShape, int> field) => string.Join(",", shapes.Select(s => I(field(s))));
            metadata["layer_heads"] = List(s => s.Heads);
            metadata["layer_kv_heads"] = List(s => s.KvHeads);
            metadata["layer_ffn_dims"] = List(s => s.FfnDim);
        }
        return metadata;
    }
}
