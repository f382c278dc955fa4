namespace Afm.Compression.Quantizers;

/// <summary>
/// Weighted k-means on scalars (the weights of one LUT group), exact and deterministic. Written here rather than
/// taken from a library because in one dimension Lloyd's step is a sweep over sorted values with prefix sums
/// (O(k log n) per iteration instead of O(nk)), and because the result must be bit-identical on every machine:
/// k-means++ seeding from our own SplitMix64, ties broken toward the lower centroid.
/// </summary>
internal static class WeightedKMeans1D
{
    /// <summary>Sorted centroids (at most <paramref name="k"/>; fewer when the values have fewer distinct points).</summary>
    public static double[] Fit(ReadOnlySpan<float> values, ReadOnlySpan<float> importance, int k, ref SeededRandom random, int maxIterations)
    {
        int n = values.Length;
        var order = new int[n];
        var sorted = new double[n];
        for (int i = 0; i < n; i++) { order[i] = i; sorted[i] = values[i]; }
        Array.Sort(sorted, order); // stable enough: equal keys are equal values, so their order cannot matter
        var w = new double[n];
        for (int i = 0; i < n; i++) w[i] = importance.IsEmpty ? 1.0 : importance[order[i]];

        var prefixW = new double[n + 1];
        var prefixWx = new double[n + 1];
        for (int i = 0; i < n; i++)
        {
            prefixW[i + 1] = prefixW[i] + w[i];
            prefixWx[i + 1] = prefixWx[i] + w[i] * sorted[i];
        }

        var centers = SeedPlusPlus(sorted, w, k, ref random);
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            bool changed = false;
            int start = 0;
            for (int c = 0; c < centers.Length; c++)
            {
                int end = c == centers.Length - 1 ? n : UpperBound(sorted, 0.5 * (centers[c] + centers[c + 1]), start);
                double mass = prefixW[end] - prefixW[start];
                if (mass > 0)
                {
                    double mean = (prefixWx[end] - prefixWx[start]) / mass;
                    if (mean != centers[c]) { centers[c] = mean; changed = true; }
                }
                start = end;
            }
            Array.Sort(centers);
            if (!changed) break;
        }
        return centers;
    }

    /// <summary>
    /// k-means++: the first centroid drawn with probability proportional to importance, each next one to
    /// importance x squared distance to the nearest chosen centroid. Stops early when every point is a centroid.
    /// </summary>
    private static double[] SeedPlusPlus(double[] sorted, double[] w, int k, ref SeededRandom random)
    {
        int n = sorted.Length;
        var chosen = new List<double> { sorted[Draw(w, ref random)] };
        var distance = new double[n];
        for (int i = 0; i < n; i++) distance[i] = Square(sorted[i] - chosen[0]);
        var score = new double[n];
        while (chosen.Count < k)
        {
            double total = 0;
            for (int i = 0; i < n; i++) { score[i] = w[i] * distance[i]; total += score[i]; }
            if (total <= 0) break;
            double c = sorted[Draw(score, ref random)];
            chosen.Add(c);
            for (int i = 0; i < n; i++) distance[i] = Math.Min(distance[i], Square(sorted[i] - c));
        }
        var centers = chosen.Distinct().ToArray();
        Array.Sort(centers);
        return centers;
    }

    private static int Draw(double[] mass, ref SeededRandom random)
    {
        double total = 0;
        foreach (double m in mass) total += m;
        if (total <= 0) return 0;
        double target = random.NextDouble() * total, running = 0;
        for (int i = 0; i < mass.Length; i++)
        {
            running += mass[i];
            if (running > target && mass[i] > 0) return i;
        }
        for (int i = mass.Length - 1; i >= 0; i--) if (mass[i] > 0) return i;
        return 0;
    }

    /// <summary>First index in [from, n) whose value is greater than <paramref name="bound"/> (points on a midpoint go to the lower centroid).</summary>
    private static int UpperBound(double[] sorted, double bound, int from)
    {
        int lo = from, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= bound) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private static double Square(double x) => x * x;

    /// <summary>Index of the nearest entry of an ascending table; ties go to the lower index.</summary>
    public static int Nearest(ReadOnlySpan<float> table, float value)
    {
        int lo = 0, hi = table.Length; // first entry >= value
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (table[mid] < value) lo = mid + 1; else hi = mid;
        }
        if (lo == table.Length) return table.Length - 1;
        if (lo == 0) return 0;
        // Distances in double so the comparison is exact for float inputs.
        return (double)value - table[lo - 1] <= (double)table[lo] - value ? lo - 1 : lo;
    }
}
