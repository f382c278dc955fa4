namespace Afm.Compression.Storage;

/// <summary>
/// Packs b-bit indices into bytes, LSB first: index i occupies bits [i*b, (i+1)*b) of the stream, and bit j
/// of the stream is bit (j mod 8) of byte j / 8. The stream is padded with zero bits to a whole byte.
/// </summary>
public static class BitPacking
{
    public static long PackedLength(long count, int bits) => (count * bits + 7) / 8;

    public static byte[] Pack(ReadOnlySpan<byte> indices, int bits)
    {
        CheckBits(bits);
        var packed = new byte[PackedLength(indices.Length, bits)];
        long bit = 0;
        foreach (byte index in indices)
        {
            if (index >> bits != 0) throw new ArgumentException($"Index {index} does not fit in {bits} bits.");
            for (int b = 0; b < bits; b++, bit++)
                if ((index >> b & 1) != 0) packed[bit >> 3] |= (byte)(1 << (int)(bit & 7));
        }
        return packed;
    }

    public static byte[] Unpack(ReadOnlySpan<byte> packed, long count, int bits)
    {
        CheckBits(bits);
        if (packed.Length != PackedLength(count, bits))
            throw new InvalidDataException($"{packed.Length} packed bytes cannot hold exactly {count} indices of {bits} bits.");
        var indices = new byte[count];
        long bit = 0;
        for (long i = 0; i < count; i++)
        {
            int value = 0;
            for (int b = 0; b < bits; b++, bit++) value |= (packed[(int)(bit >> 3)] >> (int)(bit & 7) & 1) << b;
            indices[i] = (byte)value;
        }
        return indices;
    }

    private static void CheckBits(int bits)
    {
        if (bits is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(bits), bits, "Indices have 1 to 8 bits.");
    }
}
