using System.Buffers.Binary;

namespace Afm.Interchange.Gguf;

/// <summary>
/// ggml's tensor encodings, as its reference C code (ggml-quants.c, <c>quantize_row_q8_0_ref</c>,
/// <c>quantize_row_q4_0_ref</c>) defines them: rows are cut into blocks of 32 consecutive weights, each with its own
/// fp16 scale. Q8_0: d = max|x| / 127, q = round(x / d) (half away from zero). Q4_0: d = m / -8 where m is the weight
/// of largest magnitude (sign kept), q = min(15, trunc(x / d + 8.5)), two 4-bit values a byte: weight j in the low
/// nibble of byte j and weight j + 16 in its high nibble. F16 is IEEE binary16 rounded to nearest even.
/// </summary>
public static class GgmlBlocks
{
    public const int BlockSize = 32;

    /// <summary>Bytes of a tensor of <paramref name="type"/> with ggml dimensions <paramref name="dimensions"/> (innermost first).</summary>
    public static long ByteCount(GgmlType type, IReadOnlyList<long> dimensions)
    {
        long count = dimensions.Aggregate(1L, (a, b) => a * b);
        return type switch
        {
            GgmlType.F32 => count * 4,
            GgmlType.F16 => count * 2,
            GgmlType.Q8_0 => checked(count / BlockSize * 34),
            GgmlType.Q4_0 => checked(count / BlockSize * 18),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
        };
    }

    /// <summary>Whether rows of <paramref name="rowLength"/> weights can be stored as <paramref name="type"/> (block types need whole blocks).</summary>
    public static bool Fits(GgmlType type, long rowLength) =>
        type is GgmlType.F32 or GgmlType.F16 || rowLength % BlockSize == 0;

    public static byte[] Encode(GgmlType type, ReadOnlySpan<float> values) => type switch
    {
        GgmlType.F32 => F32(values),
        GgmlType.F16 => F16(values),
        GgmlType.Q8_0 => Q8_0(values),
        GgmlType.Q4_0 => Q4_0(values),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static float[] Decode(GgmlType type, ReadOnlySpan<byte> data, long count)
    {
        var values = new float[count];
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(data[(4 * i)..]);
                break;
            case GgmlType.F16:
                for (int i = 0; i < count; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(data[(2 * i)..]);
                break;
            case GgmlType.Q8_0:
                for (int b = 0; b < count / BlockSize; b++)
                {
                    var block = data.Slice(34 * b, 34);
                    float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
                    for (int j = 0; j < BlockSize; j++) values[b * BlockSize + j] = (sbyte)block[2 + j] * d;
                }
                break;
            case GgmlType.Q4_0:
                for (int b = 0; b < count / BlockSize; b++)
                {
                    var block = data.Slice(18 * b, 18);
                    float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
                    for (int j = 0; j < BlockSize / 2; j++)
                    {
                        values[b * BlockSize + j] = ((block[2 + j] & 0x0F) - 8) * d;
                        values[b * BlockSize + j + 16] = ((block[2 + j] >> 4) - 8) * d;
                    }
                }
                break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
        return values;
    }

    private static byte[] F32(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    private static byte[] F16(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)values[i]);
        return bytes;
    }

    private static byte[] Q8_0(ReadOnlySpan<float> values)
    {
        RequireBlocks(values.Length);
        var bytes = new byte[values.Length / BlockSize * 34];
        for (int b = 0; b < values.Length / BlockSize; b++)
        {
            var x = values.Slice(b * BlockSize, BlockSize);
            float amax = 0;
            foreach (var v in x) amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            var block = bytes.AsSpan(34 * b, 34);
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
            for (int j = 0; j < BlockSize; j++) block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        }
        return bytes;
    }

    private static byte[] Q4_0(ReadOnlySpan<float> values)
    {
        RequireBlocks(values.Length);
        var bytes = new byte[values.Length / BlockSize * 18];
        for (int b = 0; b < values.Length / BlockSize; b++)
        {
            var x = values.Slice(b * BlockSize, BlockSize);
            float amax = 0, max = 0;
            foreach (var v in x)
                if (amax < MathF.Abs(v)) { amax = MathF.Abs(v); max = v; }
            float d = max / -8f;
            float id = d != 0 ? 1f / d : 0f;
            var block = bytes.AsSpan(18 * b, 18);
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                // (int8_t) in C truncates toward zero; x / d + 8.5 lies in [0.5, 16.5], so truncation is a floor here.
                int low = Math.Min(15, (int)(sbyte)(x[j] * id + 8.5f));
                int high = Math.Min(15, (int)(sbyte)(x[j + 16] * id + 8.5f));
                block[2 + j] = (byte)(low | (high << 4));
            }
        }
        return bytes;
    }

    private static void RequireBlocks(int count)
    {
        if (count % BlockSize != 0) throw new ArgumentException($"{count} weights are not whole blocks of {BlockSize}.");
    }
}
