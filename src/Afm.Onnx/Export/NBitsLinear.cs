using System.Runtime.InteropServices;
using Afm.Core.Spec;
using Afm.Onnx.Graph;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Export;

/// <summary>
/// A compressed weight whose layout ONNX Runtime's <c>com.microsoft.MatMulNBits</c> runs exactly stays resident in its
/// compressed form: <c>x [rows, K] x W^T</c> is one MatMulNBits node (K = in, N = out) over the stored packed indices, and
/// nothing is expanded to float. MatMulNBits computes <c>(q - zp) x scale</c> per block of <c>block_size</c> inputs of a row
/// (a power of two >= 16 that divides K) at 2, 4 or 8 bits (the CPU kernel's widths), with an integer zero point in
/// [0, 2^bits). Two stored forms map onto that exactly (the quantize stage lays them out so with RuntimeForm="nbits",
/// specs/quantization.md):
/// - uniform blocks that tile the rows, every stored offset exactly <c>-zp x scale</c>: <c>offset + q x scale</c> and
///   <c>(q - zp) x scale</c> are then the same float32 value (both products are exact);
/// - a palette with fp16 tables whose entries are exactly <c>(e - zp) x scale</c> (one grid per group of rows): every block of
///   the group's rows gets that scale and zero point, and the entry the index selects is the kernel's value.
/// In both the op's B input is the stored row-major LSB-first bytes unchanged. Any other weight goes through
/// <see cref="WeightLowering"/> and Gemm.
/// </summary>
internal static class NBitsLinear
{
    /// <summary>MatMulNBits' inputs for one weight: packed indices, per-block float scales and zero points [N x blocks per row].</summary>
    public sealed record Layout(int Bits, int BlockSize, byte[] PackedIndices, float[] Scales, byte[] ZeroPoints);

    /// <summary>The layout MatMulNBits runs <paramref name="weight"/> in exactly, else null.</summary>
    public static Layout? Of(ExportWeight weight) => weight switch
    {
        UniformWeight u => OfUniform(u),
        PalettizedWeight p => OfPalette(p),
        _ => null,
    };

    private static Layout? OfUniform(UniformWeight u)
    {
        if (u.Shape.Length != 2 || u.Bits is not (2 or 4 or 8)) return null;
        if (u.BlockSize < 16 || (u.BlockSize & (u.BlockSize - 1)) != 0 || u.Columns % u.BlockSize != 0) return null;
        if (u.Scale.LongLength != u.Blocks || u.Offset.LongLength != u.Blocks) return null;
        var zeroPoints = new byte[u.Blocks];
        for (long b = 0; b < u.Blocks; b++)
        {
            float scale = (float)u.Scale[b], offset = (float)u.Offset[b];
            if (!(scale >= 0) || !float.IsFinite(scale)) return null;
            double zp = scale == 0 ? 0 : Math.Round(-(double)offset / scale);
            if (zp < 0 || zp >= 1 << u.Bits || 0f - (float)zp * scale != offset && !(scale == 0 && offset == 0)) return null;
            zeroPoints[b] = (byte)zp;
        }
        // MatMulNBits takes its scales in A's type (float32); fp16 -> float32 is exact.
        return new Layout(u.Bits, u.BlockSize, u.PackedIndices, u.Scale.Select(s => (float)s).ToArray(), zeroPoints);
    }

    private static Layout? OfPalette(PalettizedWeight p)
    {
        if (p.Shape.Length != 2 || p.Bits is not (2 or 4 or 8) || p.LutScale is not null) return null;
        if (p.Lut.LongLength != p.Groups * p.Entries * 2 || p.PackedIndices.LongLength != p.ElementCount * p.Bits / 8) return null;
        // Every block of a row shares its group's grid: the largest block MLAS runs (256) keeps the fewest scales resident.
        if (ResidentEmbedding.BlockSize(p.Columns) is not int block) return null;
        var table = MemoryMarshal.Cast<byte, Half>(p.Lut.AsSpan());
        long blocksPerRow = p.Columns / block;
        var scales = new float[p.Rows * blocksPerRow];
        var zeroPoints = new byte[scales.LongLength];
        for (long g = 0; g < p.Groups; g++)
        {
            var entries = table.Slice((int)(g * p.Entries), p.Entries);
            float scale = (float)entries[1] - (float)entries[0];
            if (!(scale >= 0) || !float.IsFinite(scale)) return null;
            double zp = scale == 0 ? 0 : Math.Round(-(double)(float)entries[0] / scale);
            if (zp < 0 || zp >= p.Entries) return null;
            for (int e = 0; e < p.Entries; e++)
                if ((e - (int)zp) * scale != (float)entries[e]) return null;
            long firstRow = g * p.GroupSize, endRow = Math.Min(p.Rows, firstRow + p.GroupSize);
            scales.AsSpan((int)(firstRow * blocksPerRow), (int)((endRow - firstRow) * blocksPerRow)).Fill(scale);
            zeroPoints.AsSpan((int)(firstRow * blocksPerRow), (int)((endRow - firstRow) * blocksPerRow)).Fill((byte)zp);
        }
        return new Layout(p.Bits, block, p.PackedIndices, scales, zeroPoints);
    }

    /// <summary>
    /// MatMulNBits' <c>accuracy_level</c> for <paramref name="activations"/>: 0 keeps A in float32 (exact products), 4 quantizes
    /// A to int8 per block and runs MLAS' integer kernels (VNNI).
    /// </summary>
    public static int AccuracyLevel(RuntimeActivations activations) => activations == RuntimeActivations.Int8 ? 4 : 0;

    /// <summary><paramref name="x"/> [rows, K] times the weight transposed, plus <paramref name="bias"/> [N] when given.</summary>
    public static string Emit(OnnxGraphBuilder graph, string x, string name, ExportWeight w, Layout layout, string? bias, RuntimeActivations activations) =>
        Emit(graph, x, name, w.Rows, w.Columns, layout, bias, name, activations);

    /// <summary>
    /// The same for an [<paramref name="n"/>, <paramref name="k"/>] weight; its nodes are profiled under <paramref name="scopeWeight"/>.
    /// <paramref name="packedData"/> names an initializer the graph already holds with exactly B's bytes (the resident embedding's
    /// table), which a single node reads instead of a copy.
    /// </summary>
    public static string Emit(OnnxGraphBuilder graph, string x, string name, long n, long k, Layout layout, string? bias, string scopeWeight,
        RuntimeActivations activations, string? packedData = null)
    {
        int level = AccuracyLevel(activations);
        // With int8 activations MLAS has a fast 8-bit kernel: the weight stays one node.
        if (layout.Bits != 8 || level != 0) return EmitNode(graph, x, name, n, k, layout, bias, scopeWeight, level, packedData);
        // ORT 1.31's CPU MatMulNBits runs 8 bits exactly (accuracy_level 0) ~500x slower than 4 bits ([16384 x 768]: 577 vs
        // 1.16 ms for the pair below), and fast only with int8 activations (level 4: ~2% of the output range off). So an 8-bit
        // weight runs as its nibbles: q = 16 hi + lo and zp = 16 zh + zl give (q - zp) s = (hi - zh) 16s + (lo - zl) s, two 4-bit
        // MatMulNBits added. Each term is an entry the exact 8-bit form also has ((e - zp) s for some e in [0, 256)), so exact.
        var (high, low) = Nibbles(layout.PackedIndices);
        var highLayout = new Layout(4, layout.BlockSize, high, layout.Scales.Select(s => s * 16).ToArray(), layout.ZeroPoints.Select(z => (byte)(z >> 4)).ToArray());
        var lowLayout = new Layout(4, layout.BlockSize, low, layout.Scales, layout.ZeroPoints.Select(z => (byte)(z & 0xF)).ToArray());
        var highPart = EmitNode(graph, x, DecoderNames.Contrib.HighNibbles(name), n, k, highLayout, bias, scopeWeight, level);
        var lowPart = EmitNode(graph, x, DecoderNames.Contrib.LowNibbles(name), n, k, lowLayout, null, scopeWeight, level);
        using var scope = graph.Scope(DecoderNames.Scopes.OfWeight(scopeWeight));
        return graph.Node("Add", [highPart, lowPart]);
    }

    /// <summary>Each byte's high and low nibbles, each packed two per byte LSB first (4-bit B in the same element order).</summary>
    private static (byte[] High, byte[] Low) Nibbles(byte[] values)
    {
        var high = new byte[(values.Length + 1) / 2];
        var low = new byte[high.Length];
        for (int i = 0; i < values.Length; i++)
        {
            int shift = (i & 1) * 4;
            high[i >> 1] |= (byte)((values[i] >> 4) << shift);
            low[i >> 1] |= (byte)((values[i] & 0xF) << shift);
        }
        return (high, low);
    }

    private static string EmitNode(OnnxGraphBuilder graph, string x, string name, long n, long k, Layout layout, string? bias, string scopeWeight, int accuracyLevel,
        string? packedData = null)
    {
        long blocksPerRow = k / layout.BlockSize, blob = layout.BlockSize * layout.Bits / 8;
        if (layout.PackedIndices.LongLength != n * blocksPerRow * blob)
            throw new InvalidDataException($"Weight '{name}': {layout.PackedIndices.Length} packed bytes do not hold [{n}, {k}] indices of {layout.Bits} bits.");
        var weight = packedData ?? graph.Initializer(DecoderNames.Contrib.NBitsWeight(name), DataType.Uint8, layout.PackedIndices, n, blocksPerRow, blob);
        var scales = graph.Initializer(DecoderNames.Contrib.NBitsScales(name), layout.Scales, n, blocksPerRow);
        var zeroPointBytes = PackZeroPoints(layout.ZeroPoints, n, blocksPerRow, layout.Bits);
        var zero = graph.Initializer(DecoderNames.Contrib.NBitsZeroPoints(name), DataType.Uint8, zeroPointBytes, n, zeroPointBytes.LongLength / n);
        using var scope = graph.Scope(DecoderNames.Scopes.OfWeight(scopeWeight));
        // Input 4 (g_idx) is deprecated and absent; an empty name skips an optional input.
        string[] inputs = bias is null ? [x, weight, scales, zero] : [x, weight, scales, zero, "", bias];
        return graph.DomainNode(DecoderNames.Contrib.Domain, DecoderNames.Contrib.MatMulNBits, inputs, (string?)null,
            Attr.Int("K", k), Attr.Int("N", n), Attr.Int("bits", layout.Bits), Attr.Int("block_size", layout.BlockSize), Attr.Int("accuracy_level", accuracyLevel));
    }

    /// <summary>Zero points packed like B: each row's <paramref name="blocksPerRow"/> values LSB first, the row padded to whole bytes.</summary>
    private static byte[] PackZeroPoints(byte[] zeroPoints, long rows, long blocksPerRow, int bits)
    {
        long rowBytes = (blocksPerRow * bits + 7) / 8;
        var packed = new byte[rows * rowBytes];
        for (long r = 0; r < rows; r++)
            for (long b = 0; b < blocksPerRow; b++)
            {
                long bit = b * bits;
                packed[r * rowBytes + bit / 8] |= (byte)(zeroPoints[r * blocksPerRow + b] << (int)(bit % 8));
            }
        return packed;
    }
}
