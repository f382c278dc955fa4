using Afm.Compression.Storage;

namespace Afm.Compression.Quantizers;

/// <summary>
/// The baseline: asymmetric round-to-nearest on 2^bits evenly spaced levels between each block's minimum and
/// maximum, with an fp16 scale and offset per block of consecutive row-major weights.
/// </summary>
public static class UniformQuantizer
{
    /// <summary>
    /// The block size whose scale+offset (32 bits) cost per weight equals that of a palettization LUT of
    /// 2^bits fp16 entries per <paramref name="groupSize"/> rows, so both methods have the same effective bits per weight.
    /// </summary>
    public static int EqualOverheadBlockSize(long columns, int groupSize, int bits) =>
        (int)Math.Max(1, groupSize * columns * 32 / ((1L << bits) * 16));

    public static UniformTensor Quantize(string name, long[] shape, float[] values, int bits, int blockSize)
    {
        int levels = (1 << bits) - 1;
        long blocks = (values.LongLength + blockSize - 1) / blockSize;
        var indices = new byte[values.Length];
        var scale = new float[blocks];
        var offset = new float[blocks];
        for (long block = 0; block < blocks; block++)
        {
            int start = (int)(block * blockSize), end = (int)Math.Min(values.LongLength, start + (long)blockSize);
            float min = float.MaxValue, max = float.MinValue;
            for (int i = start; i < end; i++) { min = Math.Min(min, values[i]); max = Math.Max(max, values[i]); }
            float o = Fp16.Round(min), s = Fp16.Round((max - (double)o) / levels);
            offset[block] = o;
            scale[block] = s;
            for (int i = start; i < end; i++)
                indices[i] = s > 0 ? (byte)Math.Clamp(Math.Round((values[i] - (double)o) / s, MidpointRounding.ToEven), 0, levels) : (byte)0;
        }
        return new UniformTensor(name, shape, bits, blockSize, indices, scale, offset);
    }
}
