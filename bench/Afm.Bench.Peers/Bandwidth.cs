using System.Diagnostics;
using System.Numerics;

namespace Afm.Bench.Peers;

/// <summary>
/// Memory read bandwidth of this machine as the decoders see it: <c>threads</c> threads summing a 1 GiB float array
/// (far beyond any cache) with SIMD loads, best of 5 passes. Decode at batch 1 reads every weight once per token, so
/// weight bytes per token x tokens/s over this figure is how close a runtime comes to the memory roofline.
/// </summary>
internal static class Bandwidth
{
    public static double BytesPerSecond(int threads)
    {
        var data = new float[256L * 1024 * 1024];
        for (long i = 0; i < data.LongLength; i += 1024) data[i] = 1; // touch every page
        double best = 0;
        for (int pass = 0; pass < 5; pass++)
        {
            var clock = Stopwatch.StartNew();
            var sums = new float[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                long chunk = data.LongLength / threads;
                var span = data.AsSpan((int)(t * chunk), (int)chunk);
                var acc = Vector<float>.Zero;
                for (int i = 0; i + Vector<float>.Count <= span.Length; i += Vector<float>.Count) acc += new Vector<float>(span[i..]);
                sums[t] = Vector.Sum(acc);
            });
            best = Math.Max(best, data.LongLength * 4.0 / clock.Elapsed.TotalSeconds);
            GC.KeepAlive(sums);
        }
        return best;
    }
}
