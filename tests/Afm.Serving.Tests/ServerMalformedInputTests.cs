using Afm.Runtime.Tests;
using System.Net;
using System.Text;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// Text the JSON parser accepts but .NET cannot hold (a lone UTF-16 surrogate, invalid UTF-8), numbers JSON allows but
/// a double or the sampler cannot take, and methods a route does not serve: each is the client's 4xx with a JSON error
/// body, never an empty 500, and /metrics counts it.
/// </summary>
public sealed class ServerMalformedInputTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>, IAsyncLifetime
{
    private TestServer test = null!;

    public async Task InitializeAsync() => test = await TestServer.StartAsync(fixture.Model, new ServerOptions { MaxConcurrent = 2, QueueLimit = 2 });

    public async Task DisposeAsync() => await test.DisposeAsync();

    private async Task<HttpResponseMessage> PostBytes(string path, byte[] body) =>
        await test.Client.PostAsync(path, new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } });

    private static async Task AssertJsonError(HttpResponseMessage response, int status, string? code, string? param = null)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var error = (await TestServer.Json(response)).GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        if (code is not null) Assert.Equal(code, error.GetProperty("code").GetString());
        if (param is not null) Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("/v1/completions", """{"prompt":"Ada \ud800 has","max_tokens":2}""", "prompt")]
    [InlineData("/v1/completions", """{"prompt":["\udc00"],"max_tokens":2}""", "prompt")]
    [InlineData("/v1/completions", """{"prompt":"Ada","model":"\ud800","max_tokens":2}""", "model")]
    [InlineData("/v1/completions", """{"prompt":"Ada","stop":"\ud800","max_tokens":2}""", "stop")]
    [InlineData("/v1/completions", """{"prompt":"Ada","stop":["x","\ud800"],"max_tokens":2}""", "stop")]
    [InlineData("/v1/completions", """{"prompt":"Ada","adapter":"\ud800","max_tokens":2}""", "adapter")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"\ud800"}],"max_tokens":2}""", "content")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"\ud800","content":"x"}],"max_tokens":2}""", "role")]
    public async Task A_lone_surrogate_in_any_text_field_is_a_400_naming_the_field(string path, string json, string param)
    {
        await AssertJsonError(await PostBytes(path, Encoding.UTF8.GetBytes(json)), 400, "invalid_encoding", param);
        var metrics = await test.Client.GetStringAsync("/metrics");
        Assert.DoesNotContain("status=\"500\"", metrics);
        Assert.Contains("status=\"400\"} 1", metrics);
    }

    [Theory]
    [InlineData("/v1/completions", "{\"prompt\":\"Ada \u00ff has\",\"max_tokens\":2}")]
    [InlineData("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"\u00ff\"}],\"max_tokens\":2}")]
    public async Task Invalid_utf8_in_the_body_is_a_400(string path, string json)
    {
        // \u00ff stands for one raw byte 0xFF, which is never valid UTF-8.
        var bytes = Encoding.UTF8.GetBytes(json.Replace("\u00ff", "\u0001")).Select(b => b == 0x01 ? (byte)0xFF : b).ToArray();
        var response = await PostBytes(path, bytes);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(string.IsNullOrEmpty((await TestServer.Json(response)).GetProperty("error").GetProperty("message").GetString()));
    }

    [Theory]
    [InlineData("""{"prompt":"x","temperature":1e400}""", "invalid_request_error", "temperature")]
    [InlineData("""{"prompt":"x","max_tokens":1.5}""", null, "max_tokens")]
    [InlineData("""{"prompt":"x","max_tokens":1e300}""", null, "max_tokens")]
    [InlineData("""{"prompt":"x","seed":0.5}""", null, "seed")]
    [InlineData("""{"prompt":"x","seed":1e30}""", null, "seed")]
    [InlineData("""{"prompt":"x","top_k":2.5}""", null, "top_k")]
    [InlineData("""{"prompt":"x","n":1e400}""", null, "n")]
    public async Task A_number_that_is_not_finite_or_not_whole_where_a_whole_one_is_needed_is_a_400(string json, string? type, string param)
    {
        var response = await test.Post("/v1/completions", json);
        await AssertJsonError(response, 400, null, param);
        if (type is not null) Assert.Equal(type, (await TestServer.Json(response)).GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task More_stop_sequences_than_the_OpenAI_limit_is_a_400() =>
        await AssertJsonError(await test.Post("/v1/completions", """{"prompt":"x","stop":["a","b","c","d","e"]}"""), 400, null, "stop");

    [Theory]
    [InlineData("""{"prompt":"x","temperature":1e308}""")]
    [InlineData("""{"prompt":"x","temperature":2.5}""")]
    [InlineData("""{"prompt":"x","temperature":-0.1}""")]
    [InlineData("""{"prompt":"x","top_p":1.5}""")]
    [InlineData("""{"prompt":"x","top_p":-1}""")]
    [InlineData("""{"prompt":"x","top_k":-3}""")]
    public async Task A_sampling_value_outside_the_OpenAI_range_is_a_400_AFM7004(string json) =>
        await AssertJsonError(await test.Post("/v1/completions", json), 400, "AFM7004");

    [Theory]
    [InlineData("""{"prompt":"Ada","temperature":2,"top_p":0,"max_tokens":2}""")]
    [InlineData("""{"prompt":"Ada","temperature":0,"top_k":1e12,"seed":9007199254740993,"max_tokens":2}""")]
    [InlineData("""{"prompt":"Ada","max_tokens":2.0,"seed":-5}""")]
    [InlineData("""{"prompt":"Ada","max_tokens":2,"stop":["a","b","c","d"]}""")]
    public async Task The_edges_of_each_range_are_accepted(string json) =>
        Assert.Equal(HttpStatusCode.OK, (await test.Post("/v1/completions", json)).StatusCode);

    [Theory]
    [InlineData("GET", "/v1/completions", "POST")]
    [InlineData("GET", "/v1/chat/completions", "POST")]
    [InlineData("PUT", "/v1/completions", "POST")]
    [InlineData("POST", "/v1/models", "GET")]
    [InlineData("DELETE", "/v1/models/micro-test", "GET")]
    public async Task A_route_under_another_method_is_a_405_json_error_that_names_the_allowed_one(string method, string path, string allowed)
    {
        var response = await test.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        await AssertJsonError(response, 405, "method_not_allowed");
        Assert.Contains(allowed, response.Content.Headers.Allow);
    }

    [Fact]
    public async Task An_unknown_path_is_a_404_json_error_counted_in_metrics()
    {
        await AssertJsonError(await test.Client.GetAsync("/v2/everything"), 404, "not_found");
        Assert.Contains("afm_requests_total{endpoint=\"other\",status=\"404\"} 1", await test.Client.GetStringAsync("/metrics"));
    }
}
