using System.Runtime.InteropServices;
using Afm.Onnx.Graph;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Export;

/// <summary>
/// A uniform weight whose layout ONNX Runtime's <c>com.microsoft.MatMulNBits</c> runs exactly stays resident in its
/// compressed form: <c>x [rows, K] x W^T</c> is one MatMulNBits node (K = in, N = out) over the stored packed indices, and
/// nothing is expanded to float. The layout maps when blocks tile the rows (block_size a power of two >= 16 that divides
/// K), bits are 2, 4 or 8 (the CPU kernel's widths), and every block's stored offset is exactly <c>-zp x scale</c> for an
/// integer zero point <c>zp</c> in [0, 2^bits): then MatMulNBits' <c>(q - zp) x scale</c> and the stored format's
/// <c>offset + q x scale</c> are the same float32 value (both products are exact), and the op's B input is the stored
/// row-major LSB-first bytes unchanged. The quantize stage lays uniform weights out so with RuntimeForm="nbits"
/// (specs/quantization.md); any other weight goes through <see cref="WeightLowering"/> and Gemm.
/// </summary>
internal static class NBitsLinear
{
    /// <summary>The per-block zero points of <paramref name="weight"/> when MatMulNBits runs it exactly, else null.</summary>
    public static byte[]? ZeroPoints(ExportWeight weight)
    {
        if (weight is not UniformWeight u || u.Shape.Length != 2 || u.Bits is not (2 or 4 or 8)) return null;
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
        return zeroPoints;
    }

    /// <summary><paramref name="x"/> [rows, K] times the weight transposed, plus <paramref name="bias"/> [N] when given.</summary>
    public static string Emit(OnnxGraphBuilder graph, string x, string name, UniformWeight u, byte[] zeroPoints, string? bias)
    {
        long n = u.Rows, k = u.Columns, blocksPerRow = k / u.BlockSize, blob = u.BlockSize * u.Bits / 8;
        if (u.PackedIndices.LongLength != n * blocksPerRow * blob)
            throw new InvalidDataException($"Weight '{name}': {u.PackedIndices.Length} packed bytes do not hold [{n}, {k}] indices of {u.Bits} bits.");
        var weight = graph.Initializer(DecoderNames.Contrib.NBitsWeight(name), DataType.Uint8, u.PackedIndices, n, blocksPerRow, blob);
        // MatMulNBits takes its scales in A's type (float32); fp16 -> float32 is exact.
        var scales = graph.Initializer(DecoderNames.Contrib.NBitsScales(name), u.Scale.Select(s => (float)s).ToArray(), n, blocksPerRow);
        var zeroPointBytes = PackZeroPoints(zeroPoints, n, blocksPerRow, u.Bits);
        var zero = graph.Initializer(DecoderNames.Contrib.NBitsZeroPoints(name), DataType.Uint8, zeroPointBytes, n, zeroPointBytes.LongLength / n);
        using var scope = graph.Scope(DecoderNames.Scopes.OfWeight(name));
        // Input 4 (g_idx) is deprecated and absent; an empty name skips an optional input.
        string[] inputs = bias is null ? [x, weight, scales, zero] : [x, weight, scales, zero, "", bias];
        return graph.DomainNode(DecoderNames.Contrib.Domain, DecoderNames.Contrib.MatMulNBits, inputs, (string?)null,
            Attr.Int("K", k), Attr.Int("N", n), Attr.Int("bits", u.Bits), Attr.Int("block_size", u.BlockSize), Attr.Int("accuracy_level", 0));
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
