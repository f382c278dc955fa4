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
    }

    /// <summary>Output error sum over rows of (w - q)^T H (w - q) of a block of whole rows, with the damped H.</summary>
    public double Error(ReadOnlySpan<float> original, ReadOnlySpan<float> quantized) => OutputError(original, quantized, damped, columns) * (original.Length / columns);

    /// <summary>
    /// The levels that minimise <see cref="Error"/> of a block of rows sharing one table when every weight keeps its
    /// level index (GPTVQ's codebook update, in one dimension): the least-squares system
    /// sum_r A_r^T H A_r c = sum_r A_r^T H w_r, with A_r the one-hot [columns, levels] assignment of row r.
    /// Levels no weight uses keep their value.
    /// </summary>
    public double[] RefitLevels(ReadOnlySpan<float> original, ReadOnlySpan<byte> assignment, ReadOnlySpan<float> levels)
    {
        int k = levels.Length, rows = original.Length / columns;
        var system = new double[k * k];
        var rhs = new double[k];
        var rowSums = new double[k];
        for (int r = 0; r < rows; r++)
        {
            var w = original.Slice(r * columns, columns);
            var a = assignment.Slice(r * columns, columns);
            for (int i = 0; i < columns; i++)
            {
                Array.Clear(rowSums);
                double hw = 0;
                for (int j = 0; j < columns; j++)
                {
                    double h = damped[i * columns + j];
                    rowSums[a[j]] += h;
                    hw += h * w[j];
                }
                for (int b = 0; b < k; b++) system[a[i] * k + b] += rowSums[b];
                rhs[a[i]] += hw;
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
    public float[] Round(ReadOnlySpan<float> row, Func<int, double, float> round)
    {
        var work = new double[columns];
        for (int i = 0; i < columns; i++) work[i] = row[order[i]];
        var result = new float[columns];
        for (int j = 0; j < columns; j++)
        {
            float q = round(order[j], work[j]);
            result[order[j]] = q;
            double error = (work[j] - q) / factor[j * columns + j];
            for (int k = j + 1; k < columns; k++) work[k] -= error * factor[j * columns + k];
        }
        return result;
    }

    /// <summary>The output error tr(dW H dW^T) / rows of a quantized [rows, columns] weight: what this rounding minimises.</summary>
    public static double OutputError(ReadOnlySpan<float> original, ReadOnlySpan<float> quantized, double[] hessian, int columns)
    {
        int rows = original.Length / columns;
        double total = 0;
        var d = new double[columns];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++) d[c] = (double)original[r * columns + c] - quantized[r * columns + c];
            for (int i = 0; i < columns; i++)
            {
                double s = 0;
                for (int k = 0; k < columns; k++) s += hessian[i * columns + k] * d[k];
                total += d[i] * s;
            }
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
    public static double[] Lower(double[] a, int n)
    {
        var l = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double s = a[i * n + j];
                for (int k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
                if (i == j)
                {
                    if (s <= 0) throw new InvalidOperationException($"The matrix is not positive definite (pivot {i}: {s}).");
                    l[i * n + i] = Math.Sqrt(s);
                }
                else l[i * n + j] = s / l[j * n + j];
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
        // L^-1 by forward substitution, column by column; then A^-1 = L^-T L^-1.
        var li = new double[n * n];
        for (int c = 0; c < n; c++)
        {
            li[c * n + c] = 1 / l[c * n + c];
            for (int r = c + 1; r < n; r++)
            {
                double s = 0;
                for (int k = c; k < r; k++) s -= l[r * n + k] * li[k * n + c];
                li[r * n + c] = s / l[r * n + r];
            }
        }
        var inverse = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int k = i; k < n; k++) s += li[k * n + i] * li[k * n + j];
                inverse[i * n + j] = s;
                inverse[j * n + i] = s;
            }
        var lower = Lower(inverse, n);
        var upper = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
                upper[i * n + j] = lower[j * n + i];
        return upper;
    }
}
