namespace Afm.Onnx.Export;

/// <summary>
/// One weight as the exporter receives it. This is the seam for compressed weights: a form the compression
/// stage produces (palettized: packed indices + lookup table; int8 + per-channel scale) becomes another
/// subclass here plus one case in <see cref="WeightLowering"/> that emits standard ONNX ops expanding it to the
/// float matrix the graph consumes. The decoder graph itself never looks at the form of a weight.
/// Today only <see cref="FloatWeight"/> exists: compression is not built yet, and a form that is not lowered
/// is refused rather than silently stored as floats.
/// </summary>
public abstract record ExportWeight(long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
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
