using Afm.Compression.Storage;

namespace Afm.Compression.Quantizers;

/// <summary>Symmetric int8 per row with an fp16 scale (the embedding format of the AFM report).</summary>
public static class Int8ChannelQuantizer
{
    /// <summary>Rows read at a time by the streaming overload (about 4 MB of a 1024-wide embedding).</summary>
    private const int SliceElements = 1 << 20;

    public static Int8ChannelTensor Quantize(string name, long[] shape, float[] values) =>
        Quantize(name, shape, (first, destination) => values.AsSpan(checked((int)first), destination.Length).CopyTo(destination));

    /// <summary>
    /// The same tensor from values read a slice of whole rows at a time (<paramref name="read"/>: first element, destination):
    /// each row is quantized on its own, so a 151,936-token embedding never needs its 0.6 GB of floats in memory at once.
    /// </summary>
    public static Int8ChannelTensor Quantize(string name, long[] shape, ReadValues read)
    {
        long rows = shape[0], count = shape.Aggregate(1L, (a, b) => a * b), columns = count / rows;
        var q = new sbyte[count];
        var scale = new float[rows];
        long rowsPerSlice = Math.Max(1, SliceElements / Math.Max(1, columns));
        var slice = new float[Math.Min(rowsPerSlice, rows) * columns];
        for (long firstRow = 0; firstRow < rows; firstRow += rowsPerSlice)
        {
            long n = Math.Min(rowsPerSlice, rows - firstRow);
            read(firstRow * columns, slice.AsSpan(0, (int)(n * columns)));
            for (long r = firstRow; r < firstRow + n; r++)
            {
                var row = slice.AsSpan((int)((r - firstRow) * columns), (int)columns);
                float max = 0;
                foreach (float v in row) max = Math.Max(max, Math.Abs(v));
                float s = Fp16.Round(max > 0 ? max / 127.0 : 1.0);
                if (s == 0) s = Fp16.Round(1.0); // a row far below fp16's range: its values round to 0 anyway
                scale[r] = s;
                for (int c = 0; c < row.Length; c++)
                    q[r * columns + c] = (sbyte)Math.Clamp(Math.Round(row[c] / (double)s, MidpointRounding.ToEven), -127, 127);
            }
        }
        return new Int8ChannelTensor(name, shape, q, scale);
    }

    /// <summary>Writes values <c>first</c> .. <c>first + destination.Length</c> of the tensor (row-major) into <c>destination</c>.</summary>
    public delegate void ReadValues(long first, Span<float> destination);
}
