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
        var scale = new float[blocks];
        var offset = new float[blocks];
        for (long block = 0; block < blocks; block++)
        {
            var (min, max) = Range(values, block, blockSize);
            offset[block] = Fp16.Round(min);
            scale[block] = Fp16.Round((max - (double)offset[block]) / levels);
        }
        return Round(new UniformTensor(name, shape, bits, blockSize, new byte[values.Length], scale, offset), values, hessian, threads);
    }

    /// <summary>
    /// The runtime-resident layout (RuntimeForm="nbits", ONNX Runtime's MatMulNBits): <paramref name="blockSize"/> must divide
    /// the row, so every block runs along the input dimension within one row, and each block's grid is
    /// <c>(index - zp) x scale</c> with an integer zero point <c>zp</c> (<see cref="ZeroPointGrid"/>), stored as
    /// <c>offset = -zp x scale</c>, exact in fp16, so the stored format and the kernel's dequantization agree bit for bit.
    /// </summary>
    public static UniformTensor QuantizeWithZeroPoints(string name, long[] shape, float[] values, int bits, int blockSize, double[]? hessian = null, int threads = 1)
    {
        long columns = values.LongLength / shape[0];
        if (columns % blockSize != 0)
            throw new ArgumentException($"Weight '{name}': blocks of {blockSize} do not tile its rows of {columns} inputs.", nameof(blockSize));
        long blocks = values.LongLength / blockSize;
        var scale = new float[blocks];
        var offset = new float[blocks];
        for (long block = 0; block < blocks; block++)
        {
            var (min, max) = Range(values, block, blockSize);
            (scale[block], offset[block]) = ZeroPointGrid.Fit(min, max, bits);
        }
        var grid = new UniformTensor(name, shape, bits, blockSize, new byte[values.Length], scale, offset) { IntegerZeroPoints = true };
        return Round(grid, values, hessian, threads);
    }

    /// <summary>
    /// The largest power-of-two block of 16 to 128 weights that tiles a row of <paramref name="columns"/> (MatMulNBits' blocks
    /// are powers of two of at least 16) and costs at most the palettization's overhead (<see cref="EqualOverheadBlockSize"/>,
    /// when that is 16 or more), or null when no such block tiles the row.
    /// </summary>
    public static int? ZeroPointBlockSize(long columns, int groupSize, int bits)
    {
        int target = Math.Clamp(EqualOverheadBlockSize(columns, groupSize, bits), 16, 128);
        for (int block = 128; block >= 16; block /= 2)
            if (block <= target && columns % block == 0) return block;
        return null;
    }

    private static (float Min, float Max) Range(float[] values, long block, int blockSize)
    {
        int start = (int)(block * blockSize), end = (int)Math.Min(values.LongLength, start + (long)blockSize);
        float min = float.MaxValue, max = float.MinValue;
        for (int i = start; i < end; i++) { min = Math.Min(min, values[i]); max = Math.Max(max, values[i]); }
        return (min, max);
    }

    /// <summary>Each weight's index on its block's fixed grid: nearest level, or GPTQ's error compensation when a Hessian is given.</summary>
    private static UniformTensor Round(UniformTensor grid, float[] values, double[]? hessian, int threads)
    {
        int levels = (1 << grid.IndexBits) - 1, blockSize = grid.BlockSize;
        float[] scale = grid.Scale, offset = grid.Offset;
        var indices = grid.Indices;
        var shape = grid.Shape;
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
        return grid;
    }
}
