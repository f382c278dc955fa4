using System.Diagnostics;
using Afm.Runtime.Batching;
using Afm.Runtime.Sessions;

namespace Afm.Bench.Runtime;

/// <summary>
/// The engine alone, without HTTP or sampling: B sequences decode S steps each, either each in its own runs (B parallel
/// loops on the shared session, as the server does with batching off) or together through a <see cref="DecodeBatcher"/>
/// (one run per step for all B). Interleaved, best of N, so the ratio shows what batching saves per token when the
/// machine's noise (threads, sockets, scheduling) is taken out as far as one run allows.
/// </summary>
internal static class BatchedStepBench
{
    public sealed record Row(int Sequences, double Separate, double Batched);

    public static List<Row> Run(DecoderSession session, int[] sizes, int steps, int repeats)
    {
        var rows = new List<Row>();
        foreach (int size in sizes)
        {
            double separate = 0, batched = 0;
            for (int r = 0; r < repeats; r++)
            {
                separate = Math.Max(separate, Separate(session, size, steps));
                batched = Math.Max(batched, Batched(session, size, steps));
            }
            rows.Add(new Row(size, separate, batched));
        }
        return rows;
    }

    private static long[] Prompt(int i) => Enumerable.Range(0, 4 + 3 * i).Select(t => (long)((t * 13 + i) % 200 + 1)).ToArray();

    private static double Separate(DecoderSession session, int size, int steps)
    {
        var clock = Stopwatch.StartNew();
        Parallel.For(0, size, new ParallelOptions { MaxDegreeOfParallelism = size }, i =>
        {
            using var cache = session.NewCache();
            session.Forward(Prompt(i), cache);
            for (int s = 0; s < steps; s++) session.Forward([(s * 7 + i) % session.VocabSize], cache);
        });
        return size * steps / clock.Elapsed.TotalSeconds;
    }

    private static double Batched(DecoderSession session, int size, int steps)
    {
        using var batcher = new DecodeBatcher(session, new BatchingOptions { MaxBatchSize = size, MaxWait = TimeSpan.FromMinutes(1) });
        var clock = Stopwatch.StartNew();
        var sequences = Enumerable.Range(0, size).Select(i =>
        {
            using var cache = session.NewCache();
            session.Forward(Prompt(i), cache);
            return batcher.Join(SequenceCache.From(cache, session, Prompt(i).Length + steps), null, null);
        }).ToList();
        for (int s = 0; s < steps; s++)
            Task.WhenAll(sequences.Select((q, i) => q.StepAsync((s * 7 + i) % session.VocabSize))).GetAwaiter().GetResult();
        foreach (var q in sequences) q.Dispose();
        return size * steps / clock.Elapsed.TotalSeconds;
    }
}
