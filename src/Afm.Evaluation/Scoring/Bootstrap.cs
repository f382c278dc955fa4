namespace Afm.Evaluation.Scoring;

/// <summary>
/// Standard errors by the bootstrap: the items are resampled with replacement <see cref="Resamples"/> times with a
/// seeded generator, the metric is recomputed on each resample, and the standard error is the sample standard deviation
/// (n - 1) of those values, as lm-evaluation-harness computes its bootstrap stderr.
/// </summary>
public static class Bootstrap
{
    public const int Resamples = 1000;

    /// <summary>The standard error of sum(numerators) / sum(denominators) (a mean when every denominator is 1).</summary>
    public static double StandardError(IReadOnlyList<double> numerators, IReadOnlyList<double>? denominators, long seed, int resamples = Resamples)
    {
        int n = numerators.Count;
        if (n < 2) return 0;
        // System.Random with a seed uses its documented legacy generator, the same sequence on every .NET runtime.
        var random = new Random(unchecked((int)(seed ^ (seed >> 32))));
        var values = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double top = 0, bottom = 0;
            for (int i = 0; i < n; i++)
            {
                int k = random.Next(n);
                top += numerators[k];
                bottom += denominators?[k] ?? 1;
            }
            values[r] = top / bottom;
        }
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (resamples - 1));
    }

    public static MetricValue Mean(string name, IReadOnlyList<double> values, long seed) =>
        new(name, values.Average(), StandardError(values, null, seed));
}
