using System.Runtime.InteropServices;
using Afm.Onnx.Graph;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Export;

/// <summary>
/// The int8 per-channel embedding without a float copy, in a graph that already runs resident weights (MatMulNBits): one
/// uint8 initializer <c>N.nbits</c> [vocab, blocks, block] holds <c>q + 128</c> (the stored int8 values with the sign bit
/// flipped), which <c>com.microsoft.GatherBlockQuantized</c> (the lookup) and, when the output projection is tied,
/// 8-bit <c>MatMulNBits</c> (the head) both read. Both ops' default 8-bit zero point is 128, so each dequantizes
/// <c>(q + 128 - 128) x scale = q x scale</c>, the stored format's value exactly. The row's one scale is repeated in each of
/// its blocks (blocks: the largest power of two >= 16 dividing the row, as both ops require), so the blocks change nothing.
/// </summary>
internal static class ResidentEmbedding
{
    /// <summary>
    /// The block both ops use for rows of <paramref name="columns"/>: the largest power of two from 16 to 256 (MLAS' largest
    /// prepacked block) dividing it, or null when none does.
    /// </summary>
    public static int? BlockSize(long columns)
    {
        for (int block = 256; block >= 16; block /= 2)
            if (columns % block == 0) return block;
        return null;
    }

    public sealed record Tables(string Data, long Rows, long Columns, int Block, Half[] Scale);

    /// <summary>The shared uint8 table (once per weight; the caller keeps it).</summary>
    public static Tables Emit(OnnxGraphBuilder graph, string name, Int8ChannelWeight q)
    {
        int block = BlockSize(q.Columns) ?? throw new InvalidOperationException($"Weight '{name}': no block tiles its rows of {q.Columns}.");
        if (q.Values.LongLength != q.ElementCount || q.Scale.LongLength != q.Rows)
            throw new InvalidDataException($"Weight '{name}': {q.Values.LongLength} values and {q.Scale.LongLength} scales do not fit shape [{string.Join(",", q.Shape)}].");
        var shifted = MemoryMarshal.AsBytes(q.Values.AsSpan()).ToArray();
        for (int i = 0; i < shifted.Length; i++) shifted[i] ^= 0x80; // int8 q -> uint8 q + 128
        var data = graph.Initializer(DecoderNames.Contrib.NBitsWeight(name), DataType.Uint8, shifted, q.Rows, q.Columns / block, block);
        return new Tables(data, q.Rows, q.Columns, block, q.Scale);
    }

    /// <summary>Rows <paramref name="ids"/> (any shape) of the dequantized table, as [count, columns].</summary>
    public static string Lookup(OnnxGraphBuilder graph, string name, Tables t, string ids)
    {
        long blocks = t.Columns / t.Block;
        var scales = graph.Initializer(DecoderNames.Contrib.GatherScales(name), RowScales(t, blocks), t.Rows, blocks, 1);
        var flatIds = graph.Node("Reshape", [ids, graph.Int64s(-1)]);
        var rows = graph.DomainNode(DecoderNames.Contrib.Domain, DecoderNames.Contrib.GatherBlockQuantized, [t.Data, flatIds, scales], (string?)null,
            Attr.Int("bits", 8), Attr.Int("block_size", t.Block), Attr.Int("gather_axis", 0), Attr.Int("quantize_axis", 2));
        return graph.Node("Reshape", [rows, graph.Int64s(-1, t.Columns)]);
    }

    /// <summary><paramref name="x"/> [rows, columns] times the table transposed (the tied output projection).</summary>
    public static string Head(OnnxGraphBuilder graph, string x, string name, Tables t)
    {
        long blocks = t.Columns / t.Block;
        var scales = graph.Initializer(DecoderNames.Contrib.NBitsScales(name), RowScales(t, blocks), t.Rows, blocks);
        using var scope = graph.Scope(DecoderNames.Scopes.OfWeight(name));
        return graph.DomainNode(DecoderNames.Contrib.Domain, DecoderNames.Contrib.MatMulNBits, [x, t.Data, scales], (string?)null,
            Attr.Int("K", t.Columns), Attr.Int("N", t.Rows), Attr.Int("bits", 8), Attr.Int("block_size", t.Block), Attr.Int("accuracy_level", 0));
    }

    private static float[] RowScales(Tables t, long blocks)
    {
        var scales = new float[t.Rows * blocks];
        for (long i = 0; i < scales.LongLength; i++) scales[i] = (float)t.Scale[i / blocks];
        return scales;
    }
}
