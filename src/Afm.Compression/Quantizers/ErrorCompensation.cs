namespace Afm.Compression.Quantizers;

/// <summary>
/// GPTQ's column-by-column rounding (Frantar et al. 2022) for any grid: each weight of a row is rounded to its
/// grid, and its rounding error is spread over the row's not-yet-rounded weights through the inverse of the input
/// second moment H, so the layer's output error tr(dW H dW^T) is what gets minimised, not the weight error.
/// Columns go in order of decreasing H diagonal ("act order": the inputs that carry most energy are rounded first,
/// while the most freedom is left to compensate them). Rows are independent given H, so they run in parallel and
/// the result does not depend on the thread count.
/// </summary>
public sealed class ErrorCompensation
{
    /// <summary>Added to H's diagonal, relative to its mean, so an input that never fires cannot make H singular (GPTQ's 1%).</summary>
    public const double Damping = 0.01;

    private readonly int columns;
    private readonly int[] order;
    /// <summary>Upper Cholesky factor U of the permuted H^-1 (H^-1 = U^T U), row-major [columns, columns].</summary>
    private readonly double[] factor;
    /// <summary>H with the damping added, in the original column order.</summary>
    private readonly double[] damped;

    public ErrorCompensation(double[] hessian, int columns)
    {
        if (hessian.Length != (long)columns * columns) throw new ArgumentException($"H must be [{columns}, {columns}].", nameof(hessian));
        this.columns = columns;
        double mean = 0;
        for (int i = 0; i < columns; i++) mean += hessian[i * columns + i];
        mean = mean > 0 ? mean / columns : 1;
        order = Enumerable.Range(0, columns).OrderByDescending(i => hessian[i * columns + i]).ThenBy(i => i).ToArray();
        var permuted = new double[columns * columns];
        for (int r = 0; r < columns; r++)
            for (int c = 0; c < columns; c++)
                permuted[r * columns + c] = hessian[order[r] * columns + order[c]];
        for (int i = 0; i < columns; i++) permuted[i * columns + i] += Damping * mean;
        factor = Cholesky.UpperFactorOfInverse(permuted, columns);
        damped = (double[])hessian.Clone();
        for (int i = 0; i < columns; i++) damped[i * columns + i] += Damping * mean;
        byColumn = Symmetric(damped, columns) ? damped : Transposed(damped, columns);
    }

    /// <summary>The damped H by columns (its transpose; H itself when symmetric, as a measured second moment is).</summary>
    private readonly double[] byColumn;

    private static bool Symmetric(double[] m, int n)
    {
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (m[i * n + j] != m[j * n + i]) return false;
        return true;
    }

    private static double[] Transposed(double[] m, int n)
    {
        var t = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
        return t;
    }

    /// <summary>Output error sum over rows of (w - q)^T H (w - q) of a block of whole rows, with the damped H.</summary>
    public double Error(ReadOnlySpan<float> original, ReadOnlySpan<float> quantized) => OutputError(original, quantized, damped, columns) * (original.Length / columns);

    /// <summary>
    /// The levels that minimise <see cref="Error"/> of a block of rows sharing one table when every weight keeps its
    /// level index (GPTVQ's codebook update, in one dimension): the least-squares system
    /// sum_r A_r^T H A_r c = sum_r A_r^T H w_r, with A_r the one-hot [columns, levels] assignment of row r.
    /// Levels no weight uses keep their value.
    /// </summary>
    /// <remarks>
    /// Each row's sums (H A_r and H w_r, accumulated over j in ascending order as before) are computed for all i at once
    /// from H's columns, so the inner loop runs over contiguous memory in vectors, and every row of the block uses a column
    /// while it is in cache; every sum takes the same additions in the same order, so the system, and the levels, are bit
    /// for bit those of the scalar loop over rows (issue #15: that loop read all of H, 75 MB for 3072 inputs, per row).
    /// </remarks>
    public double[] RefitLevels(ReadOnlySpan<float> original, ReadOnlySpan<byte> assignment, ReadOnlySpan<float> levels)
    {
        int k = levels.Length, rows = original.Length / columns;
        var system = new double[k * k];
        var rhs = new double[k];
        // Per row r: sums[(r * k + b) * columns + i] = sum over j with a_r[j] = b of H[i, j]; products[r * columns + i] =
        // sum over j of H[i, j] w_r[j]. All rows of the block go through H's column j while it is in cache.
        var sums = new double[(long)rows * k * columns];
        var products = new double[rows * columns];
        for (int j = 0; j < columns; j++)
        {
            var column = byColumn.AsSpan(j * columns, columns);
            for (int r = 0; r < rows; r++)
            {
                Lanes.AddTo(sums.AsSpan((r * k + assignment[r * columns + j]) * columns, columns), column);
                Lanes.AddScaledTo(products.AsSpan(r * columns, columns), column, original[r * columns + j]);
            }
        }
        for (int r = 0; r < rows; r++)
        {
            var a = assignment.Slice(r * columns, columns);
            for (int i = 0; i < columns; i++)
            {
                for (int b = 0; b < k; b++) system[a[i] * k + b] += sums[(r * k + b) * columns + i];
                rhs[a[i]] += products[r * columns + i];
            }
        }
        for (int e = 0; e < k; e++)
        {
            if (system[e * k + e] > 0) continue;
            for (int b = 0; b < k; b++) { system[e * k + b] = 0; system[b * k + e] = 0; }
            system[e * k + e] = 1;
            rhs[e] = levels[e];
        }
        return Cholesky.Solve(system, rhs, k);
    }

    /// <summary>
    /// Rounds <paramref name="row"/> (length = columns, left unchanged) with <paramref name="round"/> (column, value ->
    /// nearest grid value) and returns the rounded values in the row's original column order.
    /// </summary>
    public float[] Round(ReadOnlySpan<float> row, Func<int, double, float> round) => RoundRows(row, round);

    /// <summary>
    /// <see cref="Round"/> of every row of a block of whole rows, <see cref="Lanes.Width"/> rows at a time: each row's
    /// updates are the scalar ones (w[k] - e * U[j, k], in the same order), computed in the lanes of a vector, so the
    /// result is bit for bit the row-by-row one, while U, 75 MB for 3072 inputs, is read once per group of rows instead
    /// of once per row.
    /// </summary>
    public float[] RoundRows(ReadOnlySpan<float> block, Func<int, double, float> round)
    {
        const int width = Lanes.Width;
        int rows = block.Length / columns;
        var result = new float[block.Length];
        var work = new double[columns * width];   // work[c * width + l]: row l's value at permuted column c
        var errors = new double[width];
        for (int first = 0; first < rows; first += width)
        {
            int count = Math.Min(width, rows - first);
            Array.Clear(work);
            for (int l = 0; l < count; l++)
                for (int i = 0; i < columns; i++) work[i * width + l] = block[(first + l) * columns + order[i]];
            for (int j = 0; j < columns; j++)
            {
                for (int l = 0; l < count; l++)
                {
                    double value = work[j * width + l];
                    float q = round(order[j], value);
                    result[(first + l) * columns + order[j]] = q;
                    errors[l] = (value - q) / factor[j * columns + j];
                }
                Lanes.SubtractScaledRows(work.AsSpan((j + 1) * width), factor.AsSpan(j * columns + j + 1, columns - j - 1), errors);
            }
        }
        return result;
    }

    /// <summary>
    /// The output error tr(dW H dW^T) / rows of a quantized [rows, columns] weight: what this rounding minimises.
    /// <see cref="Lanes.Width"/> rows at a time, each row's sums in the lanes of a vector, in the scalar order: the same
    /// value as a row-by-row loop, with H read once per group of rows.
    /// </summary>
    public static double OutputError(ReadOnlySpan<float> original, ReadOnlySpan<float> quantized, double[] hessian, int columns)
    {
        const int width = Lanes.Width;
        int rows = original.Length / columns;
        double total = 0;
        var d = new double[columns * width];
        var s = new double[columns * width];
        for (int first = 0; first < rows; first += width)
        {
            int count = Math.Min(width, rows - first);
            Array.Clear(d);
            for (int l = 0; l < count; l++)
                for (int c = 0; c < columns; c++)
                    d[c * width + l] = (double)original[(first + l) * columns + c] - quantized[(first + l) * columns + c];
            Array.Clear(s);
            for (int i = 0; i < columns; i++) Lanes.AddDots(s.AsSpan(i * width, width), hessian.AsSpan(i * columns, columns), d);
            for (int l = 0; l < count; l++)
                for (int i = 0; i < columns; i++) total += d[i * width + l] * s[i * width + l];
        }
        return total / Math.Max(1, rows);
    }
}

/// <summary>
/// Dense Cholesky in double, written out because the factors must be identical on every machine (LAPACK builds
/// differ in blocking and summation order) and the matrices are small (the input width of one layer).
/// </summary>
internal static class Cholesky
{
    /// <summary>Lower L with A = L L^T for a symmetric positive definite row-major [n, n] matrix.</summary>
    /// <remarks>
    /// Rows are computed <see cref="Lanes.Width"/> at a time, each in the lane of a vector: entry (i, j) is
    /// a[i, j] - l[i, 0] l[j, 0] - l[i, 1] l[j, 1] - ... in that order, as in the scalar loop, so L is bit for bit the
    /// same (a lane's terms beyond its own row are l[i, k] = 0 for k > i, which subtract exactly nothing), while each earlier
    /// row of L is read once per block of rows instead of once per row.
    /// </remarks>
    public static double[] Lower(double[] a, int n)
    {
        const int width = Lanes.Width;
        var l = new double[n * n];
        var block = new double[n * width];   // block[k * width + q]: l[first + q, k]
        var sums = new double[width];
        for (int first = 0; first < n; first += width)
        {
            int count = Math.Min(width, n - first);
            Array.Clear(block);
            for (int j = 0; j < first + count; j++)
            {
                for (int q = 0; q < width; q++) sums[q] = q < count ? a[(first + q) * n + j] : 0;
                Lanes.SubtractDots(sums, l.AsSpan(j * n, j), block);
                for (int q = Math.Max(0, j - first); q < count; q++)
                {
                    int i = first + q;
                    double s = sums[q];
                    if (i == j)
                    {
                        if (s <= 0) throw new InvalidOperationException($"The matrix is not positive definite (pivot {i}: {s}).");
                        s = Math.Sqrt(s);
                    }
                    else s /= l[j * n + j];
                    l[i * n + j] = s;
                    block[j * width + q] = s;
                }
            }
        }
        return l;
    }

    /// <summary>x with A x = b for a symmetric positive definite A.</summary>
    public static double[] Solve(double[] a, double[] b, int n)
    {
        var l = Lower(a, n);
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int k = 0; k < i; k++) s -= l[i * n + k] * y[k];
            y[i] = s / l[i * n + i];
        }
        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = y[i];
            for (int k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
            x[i] = s / l[i * n + i];
        }
        return x;
    }

    /// <summary>Upper U with A^-1 = U^T U.</summary>
    public static double[] UpperFactorOfInverse(double[] a, int n)
    {
        var l = Lower(a, n);
        // L^-1 by forward substitution, column by column; then A^-1 = L^-T L^-1. L^-1 is kept transposed (row c holds its
        // column c), so both loops read memory in order: the same sums in the same order as indexing L^-1 by column,
        // without a cache miss per term (a stride of 24 KB for 3072 inputs).
        const int width = Lanes.Width;
        var lit = new double[n * n];
        var block = new double[n * width];
        var sums = new double[width];
        for (int first = 0; first < n; first += width)
        {
            // Columns first..first+count-1 of L^-1 in the lanes (rows of lit); a lane's entries above its column are 0,
            // which subtract exactly nothing, so each entry has the scalar loop's terms in its order.
            int count = Math.Min(width, n - first);
            Array.Clear(block);
            for (int r = first; r < n; r++)
            {
                Array.Clear(sums);
                Lanes.SubtractDots(sums, l.AsSpan(r * n + first, r - first), block.AsSpan(first * width));
                for (int q = 0; q < count && first + q <= r; q++)
                {
                    int c = first + q;
                    double value = r == c ? 1 / l[c * n + c] : sums[q] / l[r * n + r];
                    lit[c * n + r] = value;
                    block[r * width + q] = value;
                }
            }
        }
        var inverse = new double[n * n];
        for (int first = 0; first < n; first += width)
        {
            // inverse[i, j] = sum over k >= i of L^-1[k, i] L^-1[k, j], for the lanes' columns j <= i.
            int count = Math.Min(width, n - first);
            Array.Clear(block);
            for (int q = 0; q < count; q++)
                for (int k = 0; k < n; k++) block[k * width + q] = lit[(first + q) * n + k];
            for (int i = first; i < n; i++)
            {
                Array.Clear(sums);
                Lanes.AddDots(sums, lit.AsSpan(i * n + i, n - i), block.AsSpan(i * width));
                for (int q = 0; q < count && first + q <= i; q++)
                {
                    int j = first + q;
                    inverse[i * n + j] = sums[q];
                    inverse[j * n + i] = sums[q];
                }
            }
        }
        var lower = Lower(inverse, n);
        var upper = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
                upper[i * n + j] = lower[j * n + i];
        return upper;
    }
}
