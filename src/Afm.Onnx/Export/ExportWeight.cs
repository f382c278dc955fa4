namespace Afm.Onnx.Export;

/// <summary>
/// One weight as the exporter receives it: float, or one of the compressed forms of the quantize stage's storage
/// convention (specs/quantization.md). <see cref="WeightLowering"/> turns each form into standard ONNX ops that
/// expand it to the float matrix the graph consumes; the decoder graph itself never looks at the form of a weight.
/// A form without a lowering is refused rather than silently stored as floats.
/// </summary>
public abstract record ExportWeight(long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long Rows => Shape[0];
    public long Columns => ElementCount / Math.Max(1, Rows);
}

/// <summary>Plain float32 weight, row-major, shape as in training (<c>[out, in]</c> for linear layers).</summary>
public sealed record FloatWeight(float[] Values, long[] Shape) : ExportWeight(Shape)
{
    public FloatWeight Validate(string name)
    {
        if (Values.LongLength != ElementCount)
            throw new InvalidDataException($"Weight '{name}' has {Values.LongLength} values but shape [{string.Join(",", Shape)}].");
        return this;
    }
}

/// <summary>
/// k-means palettization: <see cref="PackedIndices"/> holds one <see cref="Bits"/>-bit LUT index per weight, row-major,
/// packed LSB first; rows <c>g*GroupSize ..</c> use LUT row <c>g</c> of <see cref="Lut"/> [groups, 2^bits]. With an int8
/// LUT, <see cref="Lut"/> holds int8 entries and <see cref="LutScale"/> one fp16 scale per group.
/// </summary>
/// <param name="Lut">fp16 entries (as <see cref="Half"/> bits) when <see cref="LutScale"/> is null, else int8 entries.</param>
public sealed record PalettizedWeight(long[] Shape, int Bits, int GroupSize, byte[] PackedIndices, byte[] Lut, Half[]? LutScale)
    : ExportWeight(Shape)
{
    public int Entries => 1 << Bits;
    public long Groups => (Rows + GroupSize - 1) / GroupSize;
}

/// <summary>Round-to-nearest on 2^bits levels per block of <see cref="BlockSize"/> row-major weights: w = offset + index x scale.</summary>
public sealed record UniformWeight(long[] Shape, int Bits, int BlockSize, byte[] PackedIndices, Half[] Scale, Half[] Offset) : ExportWeight(Shape)
{
    public long Blocks => (ElementCount + BlockSize - 1) / BlockSize;
}

/// <summary>Symmetric int8 with one fp16 scale per row (the embedding format): w[r, c] = values[r, c] x scale[r].</summary>
public sealed record Int8ChannelWeight(long[] Shape, sbyte[] Values, Half[] Scale) : ExportWeight(Shape);
