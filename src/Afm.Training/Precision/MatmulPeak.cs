using System.Diagnostics;
using static TorchSharp.torch;

namespace Afm.Training.Precision;

/// <summary>The machine's practical peak: GFLOP/s of a square matmul, measured in this run (the machine may be shared).</summary>
public static class MatmulPeak
{
    /// <summary>
    /// Best-of-rounds GFLOP/s of a <paramref name="size"/>² matmul in <paramref name="dtype"/> for about <paramref name="budget"/>.
    /// The operands come from a private generator: torch's global one, which fixes a decoder's init and is checkpointed
    /// with training state, is left as it was.
    /// </summary>
    public static double GflopsPerSecond(int size, ScalarType dtype, TimeSpan budget) => GflopsPerSecond(size, size, size, dtype, budget);

    /// <summary>The same for an [m, k] x [k, n] product: a model's own shapes (tokens of a step x width x FFN width).</summary>
    public static double GflopsPerSecond(long m, long k, long n, ScalarType dtype, TimeSpan budget)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(0);
        var a = rand([m, k], generator: generator).to_type(dtype);
        var b = rand([k, n], generator: generator).to_type(dtype);
        for (int i = 0; i < 3; i++) matmul(a, b).Dispose(); // warm-up: thread pool, caches
        // Best of several rounds: contention only ever slows a round down, so the fastest is closest to the peak.
        double best = 0;
        var total = Stopwatch.StartNew();
        do
        {
            var clock = Stopwatch.StartNew();
            const int reps = 5;
            for (int i = 0; i < reps; i++) matmul(a, b).Dispose();
            best = Math.Max(best, reps * 2.0 * m * k * n / clock.Elapsed.TotalSeconds / 1e9);
        } while (total.Elapsed < budget);
        return best;
    }
}
