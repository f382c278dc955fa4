using Afm.Runtime.Tests;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 (ephemeral port) called by a real HttpClient.</summary>
public sealed class ServerTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>, IAsyncLifetime
{
    private TestServer test = null!;
    private AfmServer server => test.Server;
    private HttpClient client => test.Client;

    public async Task InitializeAsync() =>
        test = await TestServer.StartAsync(fixture.Model, new ServerOptions { MaxConcurrent = 2, QueueLimit = 2 });

    public async Task DisposeAsync() => await test.DisposeAsync();

    private Task<HttpResponseMessage> Post(string path, string json) => test.Post(path, json);

    private static Task<JsonElement> Json(HttpResponseMessage response) => TestServer.Json(response);

    [Fact]
    public async Task Healthz_and_models_answer()
    {
        Assert.Equal("ok", (await Json(await client.GetAsync("/healthz"))).GetProperty("status").GetString());
        var models = await Json(await client.GetAsync("/v1/models"));
        Assert.Equal("micro-test", models.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Models_lists_the_base_then_each_usable_adapter_by_the_id_that_selects_it()
    {
        var data = (await Json(await client.GetAsync("/v1/models"))).GetProperty("data");
        Assert.Equal(["micro-test", "micro-test:summarize"], data.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        var adapter = data[1];
        Assert.Equal("summarize", adapter.GetProperty("adapter").GetString());
        Assert.Equal("micro-test", adapter.GetProperty("parent").GetString());
        Assert.Equal(4, adapter.GetProperty("rank").GetInt32());
        Assert.Equal("2", adapter.GetProperty("version").GetString());
    }

    [Theory]
    [InlineData("micro-test", null)]
    [InlineData("micro-test:summarize", "summarize")]
    public async Task Models_retrieve_answers_the_entry_the_list_has_under_that_id(string id, string? adapter)
    {
        var response = await client.GetAsync("/v1/models/" + Uri.EscapeDataString(id));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var entry = await Json(response);
        Assert.Equal(id, entry.GetProperty("id").GetString());
        Assert.Equal("model", entry.GetProperty("object").GetString());
        Assert.Equal(adapter, entry.TryGetProperty("adapter", out var a) ? a.GetString() : null);
    }

    [Theory]
    [InlineData("gpt-4")]
    [InlineData("micro-test:translate")]
    [InlineData("micro-test:stale")]
    public async Task Models_retrieve_of_an_unknown_id_is_a_404_json_error(string id)
    {
        var response = await client.GetAsync("/v1/models/" + Uri.EscapeDataString(id));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model_not_found", (await Json(response)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_adapter_selected_by_field_or_by_model_id_is_active_for_that_request_only()
    {
        static string Request(string extra) => "{\"prompt\":\"Ada has\",\"max_tokens\":10,\"temperature\":0" + extra + "}";
        async Task<(string Text, string Model)> Complete(string extra)
        {
            var response = await Post("/v1/completions", Request(extra));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await Json(response);
            return (body.GetProperty("choices")[0].GetProperty("text").GetString()!, body.GetProperty("model").GetString()!);
        }

        var byField = await Complete(",\"adapter\":\"summarize\"");
        var byModel = await Complete(",\"model\":\"micro-test:summarize\"");
        var plain = await Complete("");
        Assert.Equal(("micro-test:summarize", "micro-test:summarize", "micro-test"), (byField.Model, byModel.Model, plain.Model));
        Assert.Equal(byField.Text, byModel.Text);
        Assert.Equal(await InProcess("summarize"), byField.Text);
        Assert.Equal(await InProcess(null), plain.Text);
        Assert.NotEqual(plain.Text, byField.Text);
    }

    private async Task<string> InProcess(string? adapter)
    {
        var options = new Afm.Runtime.Generation.GenerationOptions { MaxTokens = 10, Sampling = Afm.Runtime.Generation.SamplingOptions.Greedy, Adapter = adapter };
        var text = new StringBuilder();
        await foreach (var chunk in fixture.Model.Generator.GenerateAsync("Ada has", options)) text.Append(chunk.Text);
        return text.ToString();
    }

    [Fact]
    public async Task A_completion_returns_text_and_usage()
    {
        var response = await Post("/v1/completions", """{"model":"micro-test","prompt":"Ada has","max_tokens":8,"temperature":0}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json(response);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.True(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32() <= 8);
        Assert.Equal(JsonValueKind.String, body.GetProperty("choices")[0].GetProperty("text").ValueKind);
    }

    [Fact]
    public async Task Streaming_sends_server_sent_events_that_add_up_to_the_same_completion()
    {
        const string request = """{"prompt":"Bo reads","max_tokens":12,"temperature":0,"stream":STREAM}""";
        var whole = (await Json(await Post("/v1/completions", request.Replace("STREAM", "false")))).GetProperty("choices")[0].GetProperty("text").GetString();
        var response = await Post("/v1/completions", request.Replace("STREAM", "true"));
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var streamed = string.Concat(events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal(whole, streamed);
    }

    [Fact]
    public async Task Chat_completions_answer_as_the_assistant_and_stream_deltas()
    {
        const string messages = "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Who has a kite?\"}]";
        var body = await Json(await Post("/v1/chat/completions", "{" + messages + ",\"max_tokens\":6,\"temperature\":0}"));
        Assert.Equal("assistant", body.GetProperty("choices")[0].GetProperty("message").GetProperty("role").GetString());
        var stream = await (await Post("/v1/chat/completions", "{" + messages + ",\"max_tokens\":6,\"temperature\":0,\"stream\":true}")).Content.ReadAsStringAsync();
        Assert.Contains("chat.completion.chunk", stream);
        Assert.EndsWith("data: [DONE]\n\n", stream);
    }

    [Theory]
    [InlineData("/v1/completions", "{\"prompt\": \"x\",", 400, "invalid_json")]
    [InlineData("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 1000000000}", 400, null)]
    [InlineData("/v1/completions", "{\"prompt\": \"x\", \"adapter\": \"translate\"}", 404, "adapter_not_found")]
    [InlineData("/v1/completions", "{\"prompt\": \"x\", \"model\": \"micro-test:translate\"}", 404, "adapter_not_found")]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"adapter\": \"translate\"}", 404, "adapter_not_found")]
    [InlineData("/v1/completions", "{\"prompt\": \"x\", \"adapter\": \"stale\"}", 400, "AFM7006")]
    [InlineData("/v1/completions", "{\"prompt\": \"x\", \"model\": \"gpt-4\"}", 404, "model_not_found")]
    [InlineData("/v1/completions", "{\"prompt\": 42}", 400, null)]
    [InlineData("/v1/completions", "{\"prompt\": \"x\", \"temperature\": -1}", 400, "AFM7004")]
    [InlineData("/v1/chat/completions", "{\"messages\": []}", 400, null)]
    public async Task Bad_requests_get_a_4xx_json_error(string path, string json, int status, string? code)
    {
        var response = await Post(path, json);
        Assert.Equal(status, (int)response.StatusCode);
        var error = (await Json(response)).GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        if (code is not null) Assert.Equal(code, error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_full_queue_answers_429_and_the_server_serves_again_once_it_drains()
    {
        // Occupy both generation slots and both queue places, as four in-flight requests would.
        var leases = new List<IDisposable>();
        for (int i = 0; i < 2; i++) leases.Add((await server.Gate.TryEnterAsync(default))!);
        var waiting = Enumerable.Range(0, 2).Select(_ => server.Gate.TryEnterAsync(default)).ToList();

        var refused = await Post("/v1/completions", """{"prompt":"x","max_tokens":2}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("overloaded", (await Json(refused)).GetProperty("error").GetProperty("code").GetString());

        foreach (var lease in leases) lease.Dispose();
        foreach (var queued in waiting) (await queued)!.Dispose();
        var served = await Post("/v1/completions", """{"prompt":"x","max_tokens":2}""");
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("afm_requests_rejected_total 1", metrics);
        Assert.Contains("afm_requests_total{endpoint=\"completions\",status=\"429\"} 1", metrics);
    }

    [Fact]
    public async Task Concurrent_requests_are_all_served()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            Post("/v1/completions", $$"""{"prompt":"Cy and","max_tokens":6,"seed":{{i}}}""")));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }
}
