using Afm.Core.Spec;

namespace Afm.Interchange.Gguf;

/// <summary>
/// Which llama.cpp architecture runs our decoder, and how its weights differ from ours there. qwen3 (QK-norm) and
/// qwen2 (q/k/v biases) rotate with the "NEOX" RoPE of llama.cpp, pairs (i, i + d/2) as our rotate-half, so their
/// weights are ours. llama rotates adjacent pairs (2i, 2i + 1), so its q and k rows are permuted within each head
/// (convert_hf_to_gguf.py's <c>LlamaModel.permute</c>): GGUF row 2j+s of a head is our row s*d/2 + j.
/// </summary>
public sealed record GgufArchitecture(string Name, bool PermutesQueryKey)
{
    public static readonly GgufArchitecture Qwen3 = new("qwen3", false);
    public static readonly GgufArchitecture Qwen2 = new("qwen2", false);
    public static readonly GgufArchitecture Llama = new("llama", true);

    /// <summary>The architecture of <paramref name="spec"/>, or an <see cref="InterchangeException"/> saying why none fits.</summary>
    public static GgufArchitecture For(ArchitectureSpec spec)
    {
        if (!spec.IsUniform)
            throw new InterchangeException(InterchangeCodes.GgufPerLayerShapes,
                "GGUF export of a model with per-layer shapes (OpenELM's layer-wise scaling) is not supported: llama.cpp's 'openelm' architecture is not written. Remove 'gguf' from AfmExportFormats for this model.");
        if (spec.QkNorm && spec.AttentionBias)
            throw new InterchangeException(InterchangeCodes.GgufNoArchitecture,
                "GGUF export of a model with both QK-norm and q/k/v biases is not supported: llama.cpp's qwen3 has no attention biases and qwen2 no QK-norm. Remove 'gguf' from AfmExportFormats for this model.");
        return spec.QkNorm ? Qwen3 : spec.AttentionBias ? Qwen2 : Llama;
    }

    /// <summary>
    /// Rows of a q or k projection (weight [heads*d, in] or bias [heads*d]) in the order this architecture's RoPE
    /// pairs them; <paramref name="heads"/> is the query heads for q and the key/value heads for k.
    /// </summary>
    public float[] OrderRows(float[] values, int heads, int headDim)
    {
        if (!PermutesQueryKey) return values;
        int columns = values.Length / (heads * headDim);
        var result = new float[values.Length];
        int half = headDim / 2;
        for (int h = 0; h < heads; h++)
            for (int j = 0; j < half; j++)
                for (int s = 0; s < 2; s++)
                    Array.Copy(values, (long)(h * headDim + s * half + j) * columns, result, (long)(h * headDim + 2 * j + s) * columns, columns);
        return result;
    }
}
