using Afm.Compression.Storage;
using Afm.Core.Spec;

namespace Afm.Compression.Quantizers;

/// <summary>
/// k-means palettization of a [rows, columns] weight: every <c>groupSize</c> consecutive rows (output channels)
/// share one lookup table of 2^bits centroids, fitted by importance-weighted k-means. Groups are independent,
/// so they run in parallel without changing the result. Given the layer's input second moment H, indices are chosen by
/// GPTQ's error-compensating rounding (<see cref="ErrorCompensation"/>) instead of nearest-entry rounding. With
/// <c>zeroPointTables</c> (RuntimeForm="nbits") each table is an evenly spaced grid with an integer zero point
/// (<see cref="ZeroPointPalette"/>) instead of k-means centroids, and GPTQ rounds on it without refitting the table.
/// </summary>
public static class Palettizer
{
    public static PalettizedTensor Palettize(string name, long[] shape, float[] values, float[]? importance, int bits, int groupSize,
        LutType lutType, long seed, int maxIterations, int threads = 1, double[]? hessian = null, bool zeroPointTables = false)
    {
        if (zeroPointTables && lutType != LutType.Fp16)
            throw new ArgumentException($"Weight '{name}': zero-point tables are fp16 entries; an int8 LUT cannot hold them exactly.", nameof(lutType));
        long rows = shape[0], columns = values.Length / rows;
        int entries = 1 << bits;
        int groups = (int)((rows + groupSize - 1) / groupSize);
        var indices = new byte[values.Length];
        var lut = new float[groups * entries];
        var lutInt8 = lutType == LutType.Int8 ? new sbyte[groups * entries] : null;
        var lutScale = lutType == LutType.Int8 ? new float[groups] : null;
        var compensation = hessian is null ? null : new ErrorCompensation(hessian, (int)columns);

        Parallel.For(0, groups, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, (int group) =>
        {
            int start = (int)(group * groupSize * columns);
            int length = (int)(Math.Min(rows, (group + 1L) * groupSize) * columns) - start;
            var slice = values.AsSpan(start, length);
            var random = new SeededRandom(seed, name, group);
            var weights = importance is null ? default : importance.AsSpan(start, length);
            var centers = zeroPointTables
                ? ZeroPointPalette.Fit(slice, weights, bits, maxIterations)
                : WeightedKMeans1D.Fit(slice, weights, entries, ref random, maxIterations);
            var table = lut.AsSpan(group * entries, entries);
            StoreTable(centers, table, lutInt8 is null ? default : lutInt8.AsSpan(group * entries, entries), lutScale, group);
            if (compensation is null)
            {
                for (int i = 0; i < length; i++) indices[start + i] = (byte)WeightedKMeans1D.Nearest(table, slice[i]);
                return;
            }
            var chosen = Compensated(compensation, slice, (int)columns, centers, table,
                lutInt8 is null ? default : lutInt8.AsSpan(group * entries, entries), lutScale, group, zeroPointTables ? 0 : LevelRefits);
            chosen.CopyTo(indices.AsSpan(start, length));
        });
        return new PalettizedTensor(name, shape, bits, groupSize, indices, lut, lutInt8, lutScale) { ZeroPointTables = zeroPointTables };
    }

    /// <summary>How often the table is refitted to the compensated assignment (each refit is followed by a new assignment).</summary>
    public const int LevelRefits = 2;

    /// <summary>
    /// GPTQ assignment of a group's rows to its table, alternated with least-squares refits of the table under the same
    /// output error; the table and indices with the lowest output error are kept (the k-means table is the first candidate).
    /// A zero-point table is not refitted (<paramref name="refits"/> 0): a free least-squares refit would leave its grid.
    /// </summary>
    private static byte[] Compensated(ErrorCompensation compensation, ReadOnlySpan<float> slice, int columns, double[] centers,
        Span<float> table, Span<sbyte> int8, float[]? scales, int group, int refits)
    {
        byte[]? best = null;
        double[] bestCenters = centers;
        double bestError = double.PositiveInfinity;
        for (int round = 0; ; round++)
        {
            var levels = table.ToArray();
            var assignment = new byte[slice.Length];
            var quantized = compensation.RoundRows(slice, (_, v) => levels[WeightedKMeans1D.Nearest(levels, (float)v)]);
            // The lowest index holding the rounded value (not the index the rounding found, which for a value above
            // the table is its last entry): repeated entries then stay unused, and the refit keeps their values.
            for (int i = 0; i < quantized.Length; i++) assignment[i] = (byte)WeightedKMeans1D.Nearest(levels, quantized[i]);
            double error = compensation.Error(slice, quantized);
            if (error < bestError) { best = assignment; bestCenters = centers; bestError = error; }
            if (round == refits) break;
            centers = compensation.RefitLevels(slice, assignment, levels);
            StoreTable(centers, table, int8, scales, group);
        }
        StoreTable(bestCenters, table, int8, scales, group);
        return best!;
    }

    /// <summary>
    /// <paramref name="tensor"/> with other table values (<see cref="LutTuning"/>): each group's entries are rounded to the
    /// stored LUT type and sorted ascending, and every index follows its entry.
    /// </summary>
    public static PalettizedTensor WithTables(PalettizedTensor tensor, float[] values)
    {
        int entries = tensor.Entries;
        var lut = new float[tensor.Lut.Length];
        var lutInt8 = tensor.LutInt8 is null ? null : new sbyte[tensor.LutInt8.Length];
        var lutScale = tensor.LutScale is null ? null : new float[tensor.LutScale.Length];
        var indices = new byte[tensor.Indices.Length];
        long columns = tensor.Columns;
        for (int group = 0; group < tensor.Groups; group++)
        {
            var order = Enumerable.Range(0, entries).OrderBy(e => values[group * entries + e]).ThenBy(e => e).ToArray();
            var position = new byte[entries];
            for (int k = 0; k < entries; k++) position[order[k]] = (byte)k;
            StoreTable(order.Select(e => (double)values[group * entries + e]).ToArray(), lut.AsSpan(group * entries, entries),
                lutInt8 is null ? default : lutInt8.AsSpan(group * entries, entries), lutScale, group);
            long start = group * tensor.GroupSize * columns, end = Math.Min(tensor.Count, start + tensor.GroupSize * columns);
            for (long i = start; i < end; i++) indices[i] = position[tensor.Indices[i]];
        }
        return tensor with { Indices = indices, Lut = lut, LutInt8 = lutInt8, LutScale = lutScale };
    }

    /// <summary>
    /// Rounds the centroids to the stored type, keeps the table ascending and fills unused entries (a group with
    /// fewer distinct values than entries) with the largest centroid, so every index is valid.
    /// </summary>
    private static void StoreTable(double[] centers, Span<float> table, Span<sbyte> int8, float[]? scales, int group)
    {
        if (scales is null)
        {
            for (int e = 0; e < table.Length; e++) table[e] = Fp16.Round(centers[Math.Min(e, centers.Length - 1)]);
        }
        else
        {
            double max = centers.Max(Math.Abs);
            float scale = Fp16.Round(max > 0 ? max / 127 : 1);
            if (scale == 0) scale = Fp16.Round(1);
            scales[group] = scale;
            for (int e = 0; e < table.Length; e++)
            {
                int q = (int)Math.Clamp(Math.Round(centers[Math.Min(e, centers.Length - 1)] / scale, MidpointRounding.ToEven), -127, 127);
                int8[e] = (sbyte)q;
                table[e] = q * scale;
            }
        }
        table.Sort();
        if (scales is not null) int8.Sort();
    }
}
