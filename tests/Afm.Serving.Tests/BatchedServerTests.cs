using Afm.Runtime;
using Afm.Runtime.Tests;
using System.Net;
using System.Text;
using System.Text.Json;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// Concurrent requests to a real server on 127.0.0.1 with decode batching on get, token for token, what each gets alone
/// from a server with batching off: greedy text, streamed or not, with a stop sequence, with an adapter, and sampled
/// text with a seed.
/// </summary>
public sealed class BatchedServerTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private static readonly string[] Requests =
    [
        """{"prompt":"Ada has","max_tokens":14,"temperature":0}""",
        """{"prompt":"Bo reads a green book by the lamp.","max_tokens":9,"temperature":0,"stream":true}""",
        """{"prompt":"The kite","max_tokens":16,"temperature":0,"stop":["e"]}""",
        """{"prompt":"Cy and Di sail","max_tokens":12,"temperature":0,"adapter":"summarize"}""",
        """{"prompt":"Ed counts 12","max_tokens":11,"temperature":0,"adapter":"summarize","stream":true}""",
        """{"prompt":"The lamp","max_tokens":13,"temperature":0.9,"top_k":20,"seed":4,"stream":true}""",
        """{"prompt":"Ada","max_tokens":10,"temperature":0}""",
        """{"prompt":"Di","max_tokens":15,"temperature":0,"stream":true}""",
    ];

    private static async Task<(AfmServer Server, HttpClient Client)> Start(AfmModel model, int maxBatchSize)
    {
        var server = await AfmServer.StartAsync(model, new ServerOptions { Urls = ["http://127.0.0.1:0"], MaxConcurrent = 8, QueueLimit = 8, MaxBatchSize = maxBatchSize });
        return (server, new HttpClient { BaseAddress = new Uri(server.Addresses.Single()) });
    }

    /// <summary>The completion's text (streamed events joined) and finish reason.</summary>
    private static async Task<string> Complete(HttpClient client, string json)
    {
        var response = await client.PostAsync("/v1/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        if (!json.Contains("\"stream\":true")) return Describe(JsonDocument.Parse(body).RootElement.GetProperty("choices")[0]);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var choices = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("choices")[0]).ToList();
        return string.Concat(choices.Select(c => c.GetProperty("text").GetString())) + " | " + choices[^1].GetProperty("finish_reason").GetString();
    }

    private static string Describe(JsonElement choice) => choice.GetProperty("text").GetString() + " | " + choice.GetProperty("finish_reason").GetString();

    [Fact]
    public async Task Concurrent_requests_decoded_in_shared_runs_get_what_each_gets_alone()
    {
        var (unbatched, alone) = await Start(fixture.Model, maxBatchSize: 1);
        var expected = new List<string>();
        await using (unbatched)
        using (alone)
        {
            Assert.Null(unbatched.Batcher);
            foreach (var request in Requests) expected.Add(await Complete(alone, request));
        }

        var (batched, client) = await Start(fixture.Model, maxBatchSize: 8);
        await using (batched)
        using (client)
        {
            for (int round = 0; round < 3; round++)
            {
                var actual = await Task.WhenAll(Requests.Select(r => Task.Run(() => Complete(client, r))));
                Assert.Equal(expected, actual);
            }
            var metrics = await client.GetStringAsync("/metrics");
            Assert.Contains("afm_decode_steps_total", metrics);
            Assert.True(batched.Batcher!.Steps > 0);
        }
    }

    [Fact]
    public async Task A_client_that_goes_away_leaves_the_batch_and_the_others_finish_as_they_would_alone()
    {
        const string survivor = """{"prompt":"Ada has a red","max_tokens":40,"temperature":0,"stream":true}""";
        var (unbatched, alone) = await Start(fixture.Model, maxBatchSize: 1);
        string expected;
        await using (unbatched)
        using (alone)
            expected = await Complete(alone, survivor);

        var (batched, client) = await Start(fixture.Model, maxBatchSize: 8);
        await using (batched)
        using (client)
        {
            var kept = Task.Run(() => Complete(client, survivor));
            using (var leaving = new CancellationTokenSource())
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
                {
                    Content = new StringContent("""{"prompt":"Bo reads","max_tokens":1000,"temperature":0,"stream":true}""", Encoding.UTF8, "application/json"),
                };
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leaving.Token);
                await using var stream = await response.Content.ReadAsStreamAsync(leaving.Token);
                Assert.True(await stream.ReadAsync(new byte[64], leaving.Token) > 0); // it has started generating
                leaving.Cancel();
            }
            Assert.Equal(expected, await kept);
            // The cancelled generation leaves the batcher once the server sees the connection go.
            for (int i = 0; i < 200 && batched.Batcher!.Members > 0; i++) await Task.Delay(50);
            Assert.Equal(0, batched.Batcher!.Members);
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/completions", new StringContent("""{"prompt":"Di","max_tokens":3}""", Encoding.UTF8, "application/json"))).StatusCode);
        }
    }
}
