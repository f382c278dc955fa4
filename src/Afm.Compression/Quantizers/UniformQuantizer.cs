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

    /// <param name="hessian">The layer's input second moment: when given, weights are rounded by GPTQ's error
    /// compensation (<see cref="ErrorCompensation"/>) on the same per-block grid instead of to the nearest level.</param>
    public static UniformTensor Quantize(string name, long[] shape, float[] values, int bits, int blockSize, double[]? hessian = null, int threads = 1)
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
            offset[block] = Fp16.Round(min);
            scale[block] = Fp16.Round((max - (double)offset[block]) / levels);
        }
        byte Level(long i, double value)
        {
            float s = scale[i / blockSize], o = offset[i / blockSize];
            return s > 0 ? (byte)Math.Clamp(Math.Round((value - o) / s, MidpointRounding.ToEven), 0, levels) : (byte)0;
        }
        if (hessian is null)
        {
            for (long i = 0; i < values.LongLength; i++) indices[i] = Level(i, values[i]);
        }
        else
        {
            int columns = (int)(values.LongLength / shape[0]);
            var compensation = new ErrorCompensation(hessian, columns);
            Parallel.For(0, (int)shape[0], new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, row =>
            {
                long first = (long)row * columns;
                compensation.Round(values.AsSpan((int)first, columns), (column, v) =>
                {
                    long i = first + column;
                    byte level = Level(i, v);
                    indices[i] = level;
                    return offset[i / blockSize] + level * scale[i / blockSize];
                });
            });
        }
        return new UniformTensor(name, shape, bits, blockSize, indices, scale, offset);
    }
}
