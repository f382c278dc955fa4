using Afm.Compression.Quantizers;

namespace Afm.Compression.Storage;

/// <summary>
/// The form each stored weight takes when ONNX Runtime runs the exported graph, and the bytes it keeps resident there, decided
/// from the stored arrays by the rule the exporter applies (Afm.Onnx's NBitsLinear and ResidentEmbedding; specs/onnx-export.md,
/// "Resident compressed weights"; a test in Afm.Onnx.Tests checks both agree on every layer):
/// - <c>matmulnbits</c>: uniform blocks that tile the rows with offsets exactly <c>-zp x scale</c>, or a palette of fp16
///   zero-point tables, at 2/4/8 bits. Resident: the packed indices, a float32 scale and a packed zero point per block.
/// - <c>gatherblockquantized</c>: the int8 embedding in a graph that has a MatMulNBits layer. Resident: one uint8 table and a
///   float32 scale per block for the lookup, and again for the tied output projection's MatMulNBits.
/// - <c>expand</c>: any other compressed weight, expanded to float32 when the session loads (4 bytes per weight resident).
/// - <c>float</c>: stored float32.
/// Resident bytes are the graph's initializers of that weight as ONNX Runtime holds them; its kernels may keep a prepacked copy.
/// </summary>
public static class RuntimeForms
{
    public const string Float = "float", Expand = "expand", MatMulNBits = "matmulnbits", GatherBlockQuantized = "gatherblockquantized";

    public sealed record Residency(string Form, long Bytes);

    /// <param name="tiedHead">The output projection reads the embedding (the architecture ties them).</param>
    public static IReadOnlyDictionary<string, Residency> Of(IReadOnlyList<QuantizedTensor> tensors, bool tiedHead)
    {
        var forms = tensors.ToDictionary(t => t.Name, t => NBitsBlock(t) is { } block ? new Residency(MatMulNBits, NBitsBytes(t, block))
            : t is FloatTensor ? new Residency(Float, t.StorageBytes) : new Residency(Expand, t.Count * 4), StringComparer.Ordinal);
        if (forms.Values.Any(f => f.Form == MatMulNBits)
            && tensors.FirstOrDefault(t => t.Name == EmbeddingWeight) is Int8ChannelTensor embedding && EmbeddingBlock(embedding.Columns) is { } b)
            forms[EmbeddingWeight] = new Residency(GatherBlockQuantized, EmbeddingBytes(embedding, b, tiedHead));
        return forms;
    }

    private const string EmbeddingWeight = "embed.weight";

    /// <summary>The MatMulNBits block of <paramref name="tensor"/> when that op runs it exactly, else null.</summary>
    public static int? NBitsBlock(QuantizedTensor tensor)
    {
        if (tensor.Shape.Length != 2 || tensor.Bits is not (2 or 4 or 8)) return null;
        switch (tensor)
        {
            case UniformTensor u:
                if (u.BlockSize < 16 || (u.BlockSize & (u.BlockSize - 1)) != 0 || u.Columns % u.BlockSize != 0) return null;
                for (long b = 0; b < u.Blocks; b++)
                    if (ZeroPointGrid.ZeroPoint(u.Scale[b], u.Offset[b], u.IndexBits) is null) return null;
                return u.BlockSize;
            case PalettizedTensor { LutInt8: null } p:
                for (int g = 0; g < p.Groups; g++)
                    if (ZeroPointPalette.Of(p.Lut.AsSpan(g * p.Entries, p.Entries)) is null) return null;
                return PaletteBlock(p.Columns);
            default:
                return null;
        }
    }

    /// <summary>
    /// The block MatMulNBits gets for a palette's rows of <paramref name="columns"/>: every block of a row shares its group's grid,
    /// so the largest power of two from 16 to 256 (MLAS' largest) dividing the row, which keeps the fewest scales resident.
    /// </summary>
    public static int? PaletteBlock(long columns) => EmbeddingBlock(columns);

    /// <summary>The int8 embedding's block for GatherBlockQuantized and MatMulNBits: likewise the largest power of two from 16 to 256.</summary>
    private static int? EmbeddingBlock(long columns)
    {
        for (int block = 256; block >= 16; block /= 2)
            if (columns % block == 0) return block;
        return null;
    }

    /// <summary>
    /// The uint8 table and its lookup's float32 scale per block; a tied head adds the same bytes run as 8-bit MatMulNBits.
    /// </summary>
    private static long EmbeddingBytes(Int8ChannelTensor embedding, int block, bool tiedHead)
    {
        long lookup = embedding.Count + embedding.Rows * (embedding.Columns / block) * 4;
        return tiedHead ? lookup + NBitsBytes(embedding.Count, embedding.Rows, embedding.Columns / block, 8) : lookup;
    }

    private static long NBitsBytes(QuantizedTensor t, int block) => NBitsBytes(t.Count, t.Rows, t.Columns / block, t.Bits);

    /// <summary>
    /// Packed indices plus a float32 scale and a packed zero point per block; 8 bits run as two 4-bit halves (the exporter's
    /// NBitsLinear: ORT's 8-bit kernel is slow), each with its own scales and 4-bit zero points.
    /// </summary>
    private static long NBitsBytes(long count, long rows, long blocksPerRow, int bits) => bits == 8
        ? count + 2 * (rows * blocksPerRow * 4 + rows * ((blocksPerRow * 4 + 7) / 8))
        : count * bits / 8 + rows * blocksPerRow * 4 + rows * ((blocksPerRow * bits + 7) / 8);
}
