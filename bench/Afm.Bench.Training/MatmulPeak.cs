using System.Diagnostics;
using static TorchSharp.torch;

namespace Afm.Bench.Training;

/// <summary>The machine's practical peak: GFLOP/s of a square matmul, measured in this run (the machine is shared).</summary>
internal static class MatmulPeak
{
    public static double GflopsPerSecond(int size, ScalarType dtype, TimeSpan budget)
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var a = randn(size, size).to_type(dtype);
        var b = randn(size, size).to_type(dtype);
        for (int i = 0; i < 3; i++) matmul(a, b).Dispose(); // warm-up: thread pool, caches
        // Best of several rounds: contention only ever slows a round down, so the fastest is closest to the peak.
        double best = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed < budget)
        {
            var clock = Stopwatch.StartNew();
            const int reps = 5;
            for (int i = 0; i < reps; i++) matmul(a, b).Dispose();
            best = Math.Max(best, reps * 2.0 * size * size * size / clock.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }
}
