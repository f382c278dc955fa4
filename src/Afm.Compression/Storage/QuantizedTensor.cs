namespace Afm.Compression.Storage;

/// <summary>
/// One weight tensor as the artifact stores it (specs/quantization.md, "Storage convention"). Every format
/// dequantizes to float32 exactly as an exporter or evaluator must, and counts its storage honestly: packed
/// index bytes, lookup tables, scales and offsets.
/// </summary>
public abstract record QuantizedTensor(string Name, long[] Shape)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    public long Rows => Shape[0];
    public long Columns => Count / Math.Max(1, Rows);

    /// <summary>Bytes of every stored array of this tensor (what the file's data section holds for it).</summary>
    public abstract long StorageBytes { get; }

    /// <summary>Stored bits per weight: 8 x <see cref="StorageBytes"/> / <see cref="Count"/>.</summary>
    public double BitsPerWeight => 8.0 * StorageBytes / Count;

    /// <summary>Index bits per weight (0 for int8 and float), as the plan states them.</summary>
    public abstract int Bits { get; }

    /// <summary>The float32 values the artifact's weights stand for, row-major.</summary>
    public float[] Dequantize()
    {
        var result = new float[Count];
        DequantizeInto(result);
        return result;
    }

    /// <summary><see cref="Dequantize"/> written into <paramref name="result"/> (<see cref="Count"/> values), e.g. a parameter's own memory.</summary>
    public void DequantizeInto(Span<float> result) => DequantizeRange(0, result);

    /// <summary>
    /// Values <paramref name="first"/> to <paramref name="first"/> + result.Length of <see cref="Dequantize"/> (row-major), each
    /// computed as the whole tensor's would be: a report reads a 151,936-row embedding a slice at a time.
    /// </summary>
    public abstract void DequantizeRange(long first, Span<float> result);
}

/// <summary>k-means palettization: rows grouped by <see cref="GroupSize"/> share a lookup table of 2^bits entries.</summary>
/// <param name="Indices">One LUT index per weight, row-major (packed only when written).</param>
/// <param name="Lut">[groups, 2^bits] float values exactly representable in the stored LUT type.</param>
/// <param name="LutInt8">Only for int8 LUTs: the stored int8 entries; <paramref name="Lut"/> = entry x <paramref name="LutScale"/>.</param>
public sealed record PalettizedTensor(string Name, long[] Shape, int IndexBits, int GroupSize, byte[] Indices, float[] Lut,
    sbyte[]? LutInt8, float[]? LutScale) : QuantizedTensor(Name, Shape)
{
    public int Entries => 1 << IndexBits;
    public long Groups => (Rows + GroupSize - 1) / GroupSize;
    /// <summary>
    /// Every table is <c>(e - zp) x scale</c> with an integer zero point, exact in fp16 (RuntimeForm="nbits",
    /// <see cref="Quantizers.ZeroPointPalette"/>): grid tuning keeps the zero points. In memory only, as
    /// <see cref="UniformTensor.IntegerZeroPoints"/>: the exporter finds the layout from the stored tables.
    /// </summary>
    public bool ZeroPointTables { get; init; }
    public override int Bits => IndexBits;
    public override long StorageBytes => BitPacking.PackedLength(Count, IndexBits)
        + (LutInt8 is null ? Groups * Entries * 2 : Groups * Entries + Groups * 2);

    public override void DequantizeRange(long first, Span<float> result)
    {
        long columns = Columns;
        for (int k = 0; k < result.Length; k++)
        {
            long i = first + k;
            result[k] = Lut[(i / columns / GroupSize) * Entries + Indices[i]];
        }
    }
}

/// <summary>Round-to-nearest on 2^bits evenly spaced levels per block of consecutive weights (row-major).</summary>
/// <param name="Scale">fp16-exact step per block.</param>
/// <param name="Offset">fp16-exact value of level 0 per block: w = offset + index x scale.</param>
public sealed record UniformTensor(string Name, long[] Shape, int IndexBits, int BlockSize, byte[] Indices, float[] Scale, float[] Offset)
    : QuantizedTensor(Name, Shape)
{
    public long Blocks => (Count + BlockSize - 1) / BlockSize;
    /// <summary>
    /// Blocks tile the rows and every offset is <c>-zp x scale</c> with an integer zero point (RuntimeForm="nbits"): grid
    /// tuning keeps the zero points. In memory only: the file stores scale and offset, and the exporter finds the layout from them.
    /// </summary>
    public bool IntegerZeroPoints { get; init; }
    public override int Bits => IndexBits;
    public override long StorageBytes => BitPacking.PackedLength(Count, IndexBits) + Blocks * 4;

    public override void DequantizeRange(long first, Span<float> result)
    {
        for (int k = 0; k < result.Length; k++)
        {
            long i = first + k, block = i / BlockSize;
            result[k] = Offset[block] + Indices[i] * Scale[block];
        }
    }
}

/// <summary>Symmetric int8 with one fp16 scale per row (per token for the embedding): w = q x scale.</summary>
public sealed record Int8ChannelTensor(string Name, long[] Shape, sbyte[] Values, float[] Scale) : QuantizedTensor(Name, Shape)
{
    public override int Bits => 8;
    public override long StorageBytes => Count + Rows * 2;

    public override void DequantizeRange(long first, Span<float> result)
    {
        long columns = Columns;
        for (int k = 0; k < result.Length; k++) result[k] = Values[first + k] * Scale[(first + k) / columns];
    }
}

/// <summary>Kept as float32 (norm weights, and layers the plan keeps in float).</summary>
public sealed record FloatTensor(string Name, long[] Shape, float[] Values) : QuantizedTensor(Name, Shape)
{
    public override int Bits => 32;
    public override long StorageBytes => Count * 4;
    public override void DequantizeRange(long first, Span<float> result) => Values.AsSpan((int)first, result.Length).CopyTo(result);
}
