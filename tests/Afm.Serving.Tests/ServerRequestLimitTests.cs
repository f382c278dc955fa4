using Afm.Runtime;
using Afm.Runtime.Tests;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// What one request may cost the server: its body is bounded in bytes before it is read, a body that stops arriving
/// is cut off, and a prompt is tokenized only once it holds a generation slot. Kestrel's own refusals come back as
/// JSON errors like the server's.
/// </summary>
public sealed class ServerRequestLimitTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private static string Prompt(int bytes) => $$"""{"prompt":"{{new string('a', bytes)}}","max_tokens":2}""";

    /// <summary>
    /// Sends the headers first and the body only on "100 Continue", as curl does for large bodies: a server that refuses
    /// the body answers before it is sent. (A client that sends it anyway sees the connection closed under its upload.)
    /// </summary>
    private static Task<HttpResponseMessage> PostLarge(TestServer test, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        return test.Client.SendAsync(request);
    }

    [Fact]
    public async Task A_body_over_the_default_limit_is_a_413_json_error_counted_in_metrics()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var response = await PostLarge(test, Prompt(40 << 20));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var error = (await TestServer.Json(response)).GetProperty("error");
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        Assert.Contains(new ServerOptions().MaxRequestBytes.ToString(), error.GetProperty("message").GetString());
        Assert.Contains("afm_requests_total{endpoint=\"completions\",status=\"413\"} 1", await test.Client.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task The_limit_is_an_option_and_a_body_just_under_it_is_read()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions { MaxRequestBytes = 4096 });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await test.Post("/v1/completions", Prompt(4096))).StatusCode);
        // Under the byte limit but far over the micro model's context: read, then refused for its length, not its bytes.
        var tooLong = await test.Post("/v1/completions", Prompt(4000));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("AFM7004", (await TestServer.Json(tooLong)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_body_that_stops_arriving_is_a_408_json_error()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        using var socket = new TcpClient();
        await socket.ConnectAsync(test.Address.Host, test.Address.Port);
        var stream = socket.GetStream();
        // Promises 1000 bytes, sends 20 and goes quiet: Kestrel's minimum body data rate (240 B/s after a 5 s grace) ends it.
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"prompt\":\"Ada has a"));
        stream.ReadTimeout = 30_000;
        var answer = await new StreamReader(stream).ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("HTTP/1.1 408", answer);
        Assert.Contains("\"code\":\"request_timeout\"", answer);
    }

    [Fact]
    public async Task A_prompt_that_cannot_fit_the_context_by_its_size_is_refused_without_tokenizing_it()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions { MaxRequestBytes = 64 << 20 });
        var clock = Stopwatch.StartNew();
        var response = await test.Post("/v1/completions", Prompt(10 << 20));
        var error = (await TestServer.Json(response)).GetProperty("error");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("AFM7004", error.GetProperty("code").GetString());
        Assert.Contains("at least", error.GetProperty("message").GetString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_full_server_refuses_a_prompt_before_tokenizing_it()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions { MaxConcurrent = 1, QueueLimit = 0 });
        using var held = await test.Server.Gate.TryEnterAsync(default);
        // Digits are one token each, so this prompt is too long for the context once tokenized, though short enough in
        // bytes to pass the size bound: tokenized before the gate it would be a 400; refused at the gate it is a 429.
        var digits = new string('7', fixture.Model.Session.MaxSequenceLength + 8);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAlone(fixture.Model, digits)).StatusCode);
        var response = await test.Post("/v1/completions", $$"""{"prompt":"{{digits}}","max_tokens":2}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
    }

    private static async Task<HttpResponseMessage> PostAlone(AfmModel model, string prompt)
    {
        await using var idle = await TestServer.StartAsync(model, new ServerOptions());
        return await idle.Post("/v1/completions", $$"""{"prompt":"{{prompt}}","max_tokens":2}""");
    }

    [Fact]
    public async Task Oversized_requests_are_refused_cheaply_and_leave_the_server_serving()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var body = Prompt(10 << 20);
        var clock = Stopwatch.StartNew();
        var refused = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostLarge(test, body)));
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode));
        Assert.Equal(HttpStatusCode.OK, (await test.Post("/v1/completions", Prompt(10))).StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }
}
