using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Afm.Serving;

/// <summary>Counters the server exposes at /metrics in the Prometheus text format (version 0.0.4).</summary>
public sealed class ServerMetrics(Afm.Runtime.Batching.DecodeBatcher? batcher = null, Afm.Runtime.Sessions.PromptCache? promptCache = null)
{
    private readonly ConcurrentDictionary<(string Endpoint, int Status), long> requests = new();
    private long promptTokens, completionTokens, rejected;
    private long durationTicks, durationCount;

    public void Request(string endpoint, int status) => requests.AddOrUpdate((endpoint, status), 1, (_, n) => n + 1);
    public void Rejected() => Interlocked.Increment(ref rejected);

    public void Completed(int prompt, int completion, TimeSpan duration)
    {
        Interlocked.Add(ref promptTokens, prompt);
        Interlocked.Add(ref completionTokens, completion);
        Interlocked.Add(ref durationTicks, duration.Ticks);
        Interlocked.Increment(ref durationCount);
    }

    public string Render(RequestGate gate)
    {
        var text = new StringBuilder();
        text.Append("# HELP afm_requests_total HTTP requests by endpoint and status.\n# TYPE afm_requests_total counter\n");
        foreach (var ((endpoint, status), count) in requests.OrderBy(r => r.Key.Endpoint, StringComparer.Ordinal).ThenBy(r => r.Key.Status))
            text.Append(CultureInfo.InvariantCulture, $"afm_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {count}\n");
        Counter(text, "afm_requests_rejected_total", "Requests refused because the queue was full.", Interlocked.Read(ref rejected));
        Counter(text, "afm_prompt_tokens_total", "Prompt tokens processed.", Interlocked.Read(ref promptTokens));
        Counter(text, "afm_completion_tokens_total", "Tokens generated.", Interlocked.Read(ref completionTokens));
        Gauge(text, "afm_generations_running", "Generations running now.", gate.Running);
        Gauge(text, "afm_generations_waiting", "Requests waiting for a generation slot.", gate.Waiting);
        if (batcher is not null)
        {
            Counter(text, "afm_decode_runs_total", "Batched decode runs (one ONNX Runtime run each).", batcher.Runs);
            Counter(text, "afm_decode_steps_total", "Decode steps in batched runs (one token of one request each); steps / runs is the mean batch size.", batcher.Steps);
        }
        if (promptCache is not null)
        {
            Counter(text, "afm_prompt_cache_hits_total", "Prompts that reused the key/value state of a cached prefix.", promptCache.Hits);
            Counter(text, "afm_prompt_cache_misses_total", "Prompts that found no cached prefix to reuse.", promptCache.Misses);
            Counter(text, "afm_prompt_cache_evictions_total", "Cached prompts dropped to stay within --prompt-cache-mb.", promptCache.Evictions);
            Counter(text, "afm_prompt_cache_reused_tokens_total", "Prompt tokens not prefilled because the cache held them.", promptCache.ReusedTokens);
            Counter(text, "afm_prompt_cache_skipped_stores_total", "Prompts not stored because earlier ones were still being copied.", promptCache.SkippedStores);
            Gauge(text, "afm_prompt_cache_bytes", "Bytes the prompt cache holds now.", promptCache.Bytes);
            Gauge(text, "afm_prompt_cache_entries", "Prompts the prompt cache holds now.", promptCache.Entries);
        }
        text.Append("# HELP afm_generation_seconds Time from admission to the last token.\n# TYPE afm_generation_seconds summary\n");
        text.Append(CultureInfo.InvariantCulture, $"afm_generation_seconds_sum {TimeSpan.FromTicks(Interlocked.Read(ref durationTicks)).TotalSeconds:0.######}\n");
        text.Append(CultureInfo.InvariantCulture, $"afm_generation_seconds_count {Interlocked.Read(ref durationCount)}\n");
        return text.ToString();
    }

    private static void Counter(StringBuilder text, string name, string help, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static void Gauge(StringBuilder text, string name, string help, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
}
