using System.Diagnostics;
using System.Net;
using System.Text;
using Afm.Runtime;
using Afm.Serving;

namespace Afm.Bench.Runtime;

/// <summary>
/// Loopback load test of the server: N streaming completions from C concurrent clients (latency = request start
/// to the end of the event stream), then a burst far beyond the queue, then a check that the server still answers.
/// </summary>
internal static class LoadTest
{
    public sealed record Result(int Requests, Dictionary<int, int> Statuses, double P50Ms, double P99Ms, double TimeToFirstEventP50Ms,
        int BurstSize, Dictionary<int, int> BurstStatuses, bool HealthyAfter, bool CompletesAfter);

    public static async Task<Result> Run(AfmModel model, int requests, int clients, int maxTokens, ServerOptions options)
    {
        await using var server = await AfmServer.StartAsync(model, options with { Urls = ["http://127.0.0.1:0"] });
        using var http = new HttpClient { BaseAddress = new Uri(server.Addresses.Single()), Timeout = TimeSpan.FromMinutes(5) };

        var latencies = new List<double>();
        var firstEvents = new List<double>();
        var statuses = new Dictionary<int, int>();
        int next = -1;
        async Task Client()
        {
            while (Interlocked.Increment(ref next) < requests)
            {
                int i = next;
                var (status, total, first) = await Streamed(http, $$"""{"prompt":"Once upon a time","max_tokens":{{maxTokens}},"temperature":0.8,"seed":{{i}},"stream":true}""");
                lock (latencies)
                {
                    statuses[status] = statuses.GetValueOrDefault(status) + 1;
                    if (status == 200) { latencies.Add(total); firstEvents.Add(first); }
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(Client)));

        int burst = (options.MaxConcurrent + options.QueueLimit) * 3;
        var burstResults = await Task.WhenAll(Enumerable.Range(0, burst).Select(i => Task.Run(() =>
            Streamed(http, $$"""{"prompt":"Burst","max_tokens":{{maxTokens}},"seed":{{i}},"stream":true}"""))));
        var burstStatuses = burstResults.GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());

        bool healthy = (await http.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK;
        var after = await http.PostAsync("/v1/completions", Json("""{"prompt":"After","max_tokens":4}"""));
        return new Result(requests, statuses, Percentile(latencies, 0.50), Percentile(latencies, 0.99), Percentile(firstEvents, 0.50),
            burst, burstStatuses, healthy, after.StatusCode == HttpStatusCode.OK);
    }

    /// <summary>Status, total ms to the end of the stream, ms to the first byte of the body.</summary>
    private static async Task<(int Status, double Total, double First)> Streamed(HttpClient http, string body)
    {
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json(body) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];
        double first = -1;
        while (await stream.ReadAsync(buffer) is > 0)
            if (first < 0) first = clock.Elapsed.TotalMilliseconds;
        return ((int)response.StatusCode, clock.Elapsed.TotalMilliseconds, first);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}
