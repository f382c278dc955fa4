using System.Diagnostics;
using System.Globalization;
using System.Text;
using Afm.Runtime;
using Afm.Serving;

namespace Afm.Bench.Runtime;

/// <summary>
/// Decode batching on vs off in the server, side by side in one run: at each concurrency, C clients send streaming
/// completions to a fresh server on 127.0.0.1 (one with <c>MaxBatchSize</c> 8, one with 1), the same prompts and seeds
/// for both. Tokens/s = completion tokens (the server's own counter) / wall time of the cell; latency = request start to
/// the end of its event stream. The two settings alternate order each round, and the load average is read around every
/// cell, because the machine is shared.
/// </summary>
internal static class BatchingBench
{
    public sealed record Cell(int Round, int Concurrency, bool Batched, int Requests, long Tokens, double Seconds,
        double P50Ms, double P99Ms, double MeanBatch, string LoadBefore, string LoadAfter)
    {
        public double TokensPerSecond => Tokens / Seconds;
    }

    private static readonly string[] Prompts = ["Once upon a time", "The capital of", "12 + 7 =", "Reminder: the meeting", "A kite is", "Note to self"];

    public static async Task<List<Cell>> Run(AfmModel model, int[] concurrencies, int maxTokens, int rounds, TimeSpan batchWait)
    {
        // Not reported: the first cells of a process run with a cold JIT and a thread pool that has not grown yet.
        foreach (bool batched in new[] { false, true }) await Measure(model, -1, concurrencies.Max(), batched, maxTokens, batchWait);
        var cells = new List<Cell>();
        for (int round = 0; round < rounds; round++)
            foreach (int clients in concurrencies)
                foreach (bool batched in round % 2 == 0 ? new[] { false, true } : [true, false])
                    cells.Add(await Measure(model, round, clients, batched, maxTokens, batchWait));
        return cells;
    }

    private static async Task<Cell> Measure(AfmModel model, int round, int clients, bool batched, int maxTokens, TimeSpan batchWait)
    {
        var options = new ServerOptions { Urls = ["http://127.0.0.1:0"], MaxConcurrent = 8, QueueLimit = 64, MaxBatchSize = batched ? 8 : 1, BatchWait = batchWait };
        await using var server = await AfmServer.StartAsync(model, options);
        using var http = new HttpClient { BaseAddress = new Uri(server.Addresses.Single()), Timeout = TimeSpan.FromMinutes(5) };
        int requests = Math.Max(16, 6 * clients);
        string Body(int i) => $$"""{"prompt":"{{Prompts[i % Prompts.Length]}}","max_tokens":{{maxTokens}},"temperature":0.8,"seed":{{i}},"stream":true}""";

        await Task.WhenAll(Enumerable.Range(0, clients).Select(i => Streamed(http, Body(1000 + i)))); // warm-up, not counted
        long runsBefore = server.Batcher?.Runs ?? 0, stepsBefore = server.Batcher?.Steps ?? 0;
        long tokensBefore = Counter(await http.GetStringAsync("/metrics"), "afm_completion_tokens_total");
        string loadBefore = LoadAverage();

        var latencies = new List<double>();
        int next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                double ms = await Streamed(http, Body(i));
                lock (latencies) latencies.Add(ms);
            }
        })));
        double seconds = clock.Elapsed.TotalSeconds;

        string loadAfter = LoadAverage();
        long tokens = Counter(await http.GetStringAsync("/metrics"), "afm_completion_tokens_total") - tokensBefore;
        double meanBatch = server.Batcher is { } b && b.Runs > runsBefore ? (double)(b.Steps - stepsBefore) / (b.Runs - runsBefore) : 1;
        return new Cell(round, clients, batched, requests, tokens, seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), meanBatch, loadBefore, loadAfter);
    }

    /// <summary>Milliseconds from sending the request to the end of its event stream; throws unless 200.</summary>
    private static async Task<double> Streamed(HttpClient http, string body)
    {
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];
        while (await stream.ReadAsync(buffer) > 0) { }
        return clock.Elapsed.TotalMilliseconds;
    }

    private static long Counter(string metrics, string name) =>
        long.Parse(metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..], CultureInfo.InvariantCulture);

    /// <summary>The 1-minute load average (Linux), or "?" elsewhere.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    public static void Print(IReadOnlyList<Cell> cells)
    {
        Console.WriteLine($"  {"round",5} {"clients",7} {"batching",8} {"requests",8} {"tokens",6} {"tokens/s",9} {"p50 ms",7} {"p99 ms",7} {"mean batch",10} {"load before/after",17}");
        foreach (var c in cells)
            Console.WriteLine($"  {c.Round,5} {c.Concurrency,7} {(c.Batched ? "on" : "off"),8} {c.Requests,8} {c.Tokens,6} {c.TokensPerSecond,9:0} {c.P50Ms,7:0} {c.P99Ms,7:0} {c.MeanBatch,10:0.00} {c.LoadBefore + " / " + c.LoadAfter,17}");
        Console.WriteLine("  ratios on/off (same round, same concurrency):");
        foreach (var group in cells.GroupBy(c => (c.Round, c.Concurrency)))
        {
            var on = group.Single(c => c.Batched);
            var off = group.Single(c => !c.Batched);
            Console.WriteLine($"    round {group.Key.Round} clients {group.Key.Concurrency}: tokens/s x{on.TokensPerSecond / off.TokensPerSecond:0.00}, p50 x{on.P50Ms / off.P50Ms:0.00}, p99 x{on.P99Ms / off.P99Ms:0.00}");
        }
    }
}
