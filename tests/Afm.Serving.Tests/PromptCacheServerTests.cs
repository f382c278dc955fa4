using System.Net;
using System.Text.Json;
using Afm.Runtime.Tests;

namespace Afm.Serving.Tests;

/// <summary>
/// The server's prompt cache over HTTP: a conversation whose every prompt extends the one before answers what a server
/// without the cache answers, and /metrics counts the hits, misses and bytes.
/// </summary>
public sealed class PromptCacheServerTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private const string System = "Answer about kites and boats.\n";

    private static async Task<List<string>> Conversation(TestServer server)
    {
        var texts = new List<string>();
        var transcript = System;
        foreach (var question in new[] { "User: kite?", "User: boat?", "User: lamp?" })
        {
            transcript += question + "\nAssistant:";
            var response = await server.Post("/v1/completions", JsonSerializer.Serialize(new { prompt = transcript, max_tokens = 3, temperature = 0 }));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var text = (await TestServer.Json(response)).GetProperty("choices")[0].GetProperty("text").GetString()!;
            texts.Add(text);
            transcript += text + "\n";
        }
        return texts;
    }

    internal static long Metric(string metrics, string name) =>
        long.Parse(metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..]);

    [Fact]
    public async Task A_conversation_answers_the_same_with_the_cache_and_metrics_count_its_hits()
    {
        await using var plain = await TestServer.StartAsync(fixture.Model, new ServerOptions { PromptCacheBytes = 0 });
        await using var cached = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        Assert.Equal(await Conversation(plain), await Conversation(cached));

        var metrics = await cached.Client.GetStringAsync("/metrics");
        Assert.Equal(1, Metric(metrics, "afm_prompt_cache_misses_total"));
        Assert.Equal(2, Metric(metrics, "afm_prompt_cache_hits_total"));
        Assert.True(Metric(metrics, "afm_prompt_cache_bytes") > 0);
        Assert.True(Metric(metrics, "afm_prompt_cache_reused_tokens_total") > 2 * PromptCacheMinimum);
        Assert.DoesNotContain("afm_prompt_cache", await plain.Client.GetStringAsync("/metrics"));
    }

    private const int PromptCacheMinimum = Afm.Runtime.Sessions.PromptCache.MinimumReuse;
}
