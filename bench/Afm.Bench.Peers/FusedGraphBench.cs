using System.Diagnostics;
using Afm.Core.Spec;
using Afm.Onnx.Export;
using Afm.Runtime.Sessions;

namespace Afm.Bench.Peers;

/// <summary>
/// The standard graph against the fused one (OnnxOps.Fused) on the same weights, side by side in one process, rounds
/// interleaved, each cell keeping its best: decode tokens/s at batch 1, a 512-token prefill, and the KV cache at the
/// model's full context (its bytes per sequence and the time of a decode step at positions 10, 256 and the last ones).
/// </summary>
internal static class FusedGraphBench
{
    public sealed record Row(string Model, OnnxOps Ops, double DecodeTokensPerSecond, double PrefillMs, IReadOnlyList<(int Position, double StepMs)> Steps, long CacheBytesAt10, long CacheBytesAtMax);

    /// <param name="context">The model's context (its cache's full length); null keeps the bench model's own (512).</param>
    public static IReadOnlyList<Row> Run(BenchModel bench, int? context, string folder, int tokens, int threads, int rounds)
    {
        var model = bench.RandomWeights(seed: 1);
        if (context is { } c) model = model with { Architecture = bench.Architecture with { MaxSequenceLength = c } };
        int length = model.Architecture.MaxSequenceLength;
        Directory.CreateDirectory(folder);
        var sessions = new Dictionary<OnnxOps, DecoderSession>();
        try
        {
            foreach (var ops in new[] { OnnxOps.Standard, OnnxOps.Fused })
            {
                var path = Path.Combine(folder, $"{ops.Name()}.onnx");
                File.WriteAllBytes(path, DecoderExporter.Export(model with { Ops = ops }, "bench"));
                sessions[ops] = new DecoderSession(path, new RuntimeOptions { IntraOpThreads = threads });
            }
            int[] positions = [10, 256, length - 8];
            var decode = new Dictionary<OnnxOps, double>();
            var prefill = new Dictionary<OnnxOps, double>();
            var steps = sessions.Keys.ToDictionary(o => o, _ => positions.Select(_ => double.MaxValue).ToArray());
            var random = new Random(2);
            for (int round = 0; round < rounds; round++)
                // Alternating which graph runs first, so neither always runs on what the other left in the caches and arena.
                foreach (var (ops, session) in round % 2 == 0 ? sessions : sessions.Reverse())
                {
                    decode[ops] = Math.Max(decode.GetValueOrDefault(ops), Decode(session, tokens, random));
                    prefill[ops] = Math.Min(prefill.GetValueOrDefault(ops, double.MaxValue), Prefill(session, 512, random));
                    for (int i = 0; i < positions.Length; i++) steps[ops][i] = Math.Min(steps[ops][i], StepAt(session, positions[i], random));
                }
            var a = model.Architecture;
            long perPosition = 2L * Enumerable.Range(0, a.Layers).Sum(l => a.Layer(l).KvHeads) * a.HeadDim * sizeof(float);
            // A standard graph's cache holds the positions so far, and during a step both past and present (2x); a fused
            // graph's is allocated at the full context once (pages are mapped by the OS as positions are written).
            return sessions.Keys.Select(ops => new Row(bench.Name, ops, decode[ops], prefill[ops], positions.Zip(steps[ops]).ToList(),
                ops == OnnxOps.Fused ? perPosition * length : perPosition * 10 * 2, perPosition * length * (ops == OnnxOps.Fused ? 1 : 2))).ToList();
        }
        finally
        {
            foreach (var session in sessions.Values) session.Dispose();
        }
    }

    private static long[] Ids(Random random, int count, int vocab) => Enumerable.Range(0, count).Select(_ => (long)random.Next(vocab)).ToArray();

    /// <summary>Tokens/s of <paramref name="tokens"/> single-token steps after a 16-token prompt (prefill not timed).</summary>
    private static double Decode(DecoderSession session, int tokens, Random random)
    {
        using var cache = session.NewCache();
        session.Forward(Ids(random, 16, session.VocabSize), cache);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < tokens; i++) session.Forward(Ids(random, 1, session.VocabSize), cache);
        return tokens / clock.Elapsed.TotalSeconds;
    }

    private static double Prefill(DecoderSession session, int length, Random random)
    {
        using var cache = session.NewCache();
        var ids = Ids(random, length, session.VocabSize);
        var clock = Stopwatch.StartNew();
        session.Forward(ids, cache);
        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>Mean time of the 4 decode steps at positions [position, position + 4), after a prefill of the positions before.</summary>
    private static double StepAt(DecoderSession session, int position, Random random)
    {
        using var cache = session.NewCache();
        session.Forward(Ids(random, position, session.VocabSize), cache);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 4; i++) session.Forward(Ids(random, 1, session.VocabSize), cache);
        return clock.Elapsed.TotalMilliseconds / 4;
    }
}
