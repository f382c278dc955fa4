using Afm.Compression.Storage;

namespace Afm.Compression.Quantizers;

/// <summary>Symmetric int8 per row with an fp16 scale (the embedding format of the AFM report).</summary>
public static class Int8ChannelQuantizer
{
    public static Int8ChannelTensor Quantize(string name, long[] shape, float[] values)
    {
        long rows = shape[0], columns = values.LongLength / rows;
        var q = new sbyte[values.Length];
        var scale = new float[rows];
        for (long r = 0; r < rows; r++)
        {
            var row = values.AsSpan((int)(r * columns), (int)columns);
            float max = 0;
            foreach (float v in row) max = Math.Max(max, Math.Abs(v));
            float s = Fp16.Round(max > 0 ? max / 127.0 : 1.0);
            if (s == 0) s = Fp16.Round(1.0); // a row far below fp16's range: its values round to 0 anyway
            scale[r] = s;
            for (int c = 0; c < row.Length; c++)
                q[r * columns + c] = (sbyte)Math.Clamp(Math.Round(row[c] / (double)s, MidpointRounding.ToEven), -127, 127);
        }
        return new Int8ChannelTensor(name, shape, q, scale);
    }
}
