using Afm.Core.Spec;
using System.Runtime.InteropServices;
using Afm.Onnx.Graph;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Export;

/// <summary>
/// The int8 per-channel embedding without a float copy, in a graph that already runs resident weights (MatMulNBits): one
/// uint8 initializer <c>N.nbits</c> [vocab, blocks, block] holds <c>u = q + 128</c> (the stored int8 values with the sign bit
/// flipped), which <c>com.microsoft.GatherBlockQuantized</c> (the lookup) reads with its default 8-bit zero point 128:
/// <c>(u - 128) x scale = q x scale</c>, the stored format's value exactly.
/// A tied output projection does not run as 8-bit MatMulNBits: ORT 1.31's CPU kernel is fast at 8 bits only with int8
/// activations (accuracy_level 4), which moved its outputs by ~2 % of their range (specs/onnx-export.md), and at accuracy_level 0
/// takes ~0.6 s for [16384 x 768]. <see cref="NBitsLinear"/> runs the head's bytes as their nibbles, <c>u = 16 hi + lo</c>, so
/// <c>q x scale = (hi - 8) x 16 scale + (lo - 0) x scale</c>: two 4-bit MatMulNBits (the kernel's fast exact path) whose
/// outputs add; every dequantized product is exact in float32, so only the float accumulation order differs from one matmul.
/// The row's one scale is repeated in each of its blocks (blocks: the largest power of two >= 16 dividing the row, as both ops
/// require), so the blocks change nothing.
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

    /// <param name="Shifted">The uint8 values <c>q + 128</c>, row-major (the head's nibbles come from them).</param>
    public sealed record Tables(string Data, long Rows, long Columns, int Block, Half[] Scale, byte[] Shifted);

    /// <summary>The shared uint8 table (once per weight; the caller keeps it).</summary>
    public static Tables Emit(OnnxGraphBuilder graph, string name, Int8ChannelWeight q)
    {
        int block = BlockSize(q.Columns) ?? throw new InvalidOperationException($"Weight '{name}': no block tiles its rows of {q.Columns}.");
        if (q.Values.LongLength != q.ElementCount || q.Scale.LongLength != q.Rows)
            throw new InvalidDataException($"Weight '{name}': {q.Values.LongLength} values and {q.Scale.LongLength} scales do not fit shape [{string.Join(",", q.Shape)}].");
        var shifted = MemoryMarshal.AsBytes(q.Values.AsSpan()).ToArray();
        for (int i = 0; i < shifted.Length; i++) shifted[i] ^= 0x80; // int8 q -> uint8 q + 128
        var data = graph.Initializer(DecoderNames.Contrib.NBitsWeight(name), DataType.Uint8, shifted, q.Rows, q.Columns / block, block);
        return new Tables(data, q.Rows, q.Columns, block, q.Scale, shifted);
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

    /// <summary><paramref name="x"/> [rows, columns] times the table transposed (the tied output projection), as 8-bit MatMulNBits
    /// with zero point 128: with float32 activations NBitsLinear runs it as two 4-bit halves; with int8 activations it is one
    /// node over the lookup's own table (no second copy of its bytes).</summary>
    public static string Head(OnnxGraphBuilder graph, string x, string name, Tables t, RuntimeActivations activations)
    {
        long blocks = t.Columns / t.Block;
        var zeroPoints = new byte[t.Rows * blocks];
        Array.Fill(zeroPoints, (byte)128);
        var layout = new NBitsLinear.Layout(8, t.Block, t.Shifted, RowScales(t, blocks), zeroPoints);
        return NBitsLinear.Emit(graph, x, name, t.Rows, t.Columns, layout, null, name, activations, packedData: t.Data);
    }

    private static float[] RowScales(Tables t, long blocks)
    {
        var scales = new float[t.Rows * blocks];
        for (long i = 0; i < scales.LongLength; i++) scales[i] = (float)t.Scale[i / blocks];
        return scales;
    }
}
