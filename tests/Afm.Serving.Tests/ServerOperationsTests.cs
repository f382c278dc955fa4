using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Afm.Runtime.Tests;
using OpenAI;
using OpenAI.Chat;

namespace Afm.Serving.Tests;

/// <summary>
/// What running the server for others needs: an API key (checked with the official OpenAI .NET client and raw HTTP),
/// CORS, llama-server's /tokenize and /detokenize, and the system_fingerprint of the artifact's bytes.
/// </summary>
public sealed class ServerOperationsTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private const string Key = "sk-test-0123456789";

    private ChatClient Client(TestServer test, string key) =>
        new(fixture.Model.Id, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(test.Address, "/v1") });

    [Fact]
    public async Task With_an_api_key_the_official_client_with_that_key_is_answered_and_one_with_another_gets_401()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions { ApiKey = Key });
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 3 };
        ChatCompletion completion = await Client(test, Key).CompleteChatAsync([new UserChatMessage("hi")], options);
        Assert.NotNull(completion.Content);
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client(test, "sk-wrong").CompleteChatAsync([new UserChatMessage("hi")], options));
        Assert.Equal(401, error.Status);
    }

    [Fact]
    public async Task Without_the_key_every_route_but_healthz_answers_401_in_OpenAIs_error_shape()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions { ApiKey = Key });
        var models = await test.Client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        Assert.Equal("Bearer", models.Headers.WwwAuthenticate.Single().Scheme);
        var error = (await TestServer.Json(models)).GetProperty("error");
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await test.Client.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await test.Post("/tokenize", """{"content":"Ada"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await test.Client.GetAsync("/healthz")).StatusCode);

        test.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        Assert.Equal(HttpStatusCode.OK, (await test.Client.GetAsync("/v1/models")).StatusCode);
    }

    [Fact]
    public async Task A_listed_origin_gets_CORS_headers_and_its_preflight_needs_no_key()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions { ApiKey = Key, CorsOrigins = ["https://app.example"] });
        var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/chat/completions");
        preflight.Headers.Add("Origin", "https://app.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        var answer = await test.Client.SendAsync(preflight);
        Assert.True(answer.IsSuccessStatusCode, answer.StatusCode.ToString());
        Assert.Equal("https://app.example", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());

        var other = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        other.Headers.Add("Origin", "https://elsewhere.example");
        Assert.False((await test.Client.SendAsync(other)).Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Without_cors_origins_no_CORS_header_is_sent()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.Add("Origin", "https://app.example");
        Assert.False((await test.Client.SendAsync(request)).Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Tokenize_and_detokenize_answer_llama_servers_shapes_with_the_models_tokenizer()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        const string text = "Bo reads a green book by the lamp.";
        var plain = (await TestServer.Json(await test.Post("/tokenize", JsonSerializer.Serialize(new { content = text })))).GetProperty("tokens");
        Assert.Equal(fixture.Model.Tokenizer.Encode(text), plain.EnumerateArray().Select(t => t.GetInt32()));
        var special = (await TestServer.Json(await test.Post("/tokenize", JsonSerializer.Serialize(new { content = text, add_special = true })))).GetProperty("tokens");
        Assert.Equal(fixture.Model.Generator.Tokenize(text), special.EnumerateArray().Select(t => t.GetInt32()));
        var pieces = (await TestServer.Json(await test.Post("/tokenize", JsonSerializer.Serialize(new { content = text, with_pieces = true })))).GetProperty("tokens");
        Assert.Equal(text, string.Concat(pieces.EnumerateArray().Select(p => p.GetProperty("piece").GetString())));
        Assert.Equal(plain.EnumerateArray().Select(t => t.GetInt32()), pieces.EnumerateArray().Select(p => p.GetProperty("id").GetInt32()));

        var back = await TestServer.Json(await test.Post("/detokenize", JsonSerializer.Serialize(new { tokens = plain })));
        Assert.Equal(text, back.GetProperty("content").GetString());
    }

    [Theory]
    [InlineData("/tokenize", """{"content":3}""", "content")]
    [InlineData("/tokenize", """{"content":"a","with_pieces":"yes"}""", "with_pieces")]
    [InlineData("/detokenize", """{"tokens":[1,99999999]}""", "tokens")]
    [InlineData("/detokenize", """{"tokens":"1 2"}""", "tokens")]
    public async Task A_malformed_tokenize_request_is_400_naming_the_field(string path, string body, string field)
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var response = await test.Post(path, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await TestServer.Json(response)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Completions_carry_the_fingerprint_of_the_artifacts_manifest_and_a_created_time()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var answer = await TestServer.Json(await test.Post("/v1/completions", """{"prompt":"Ada","max_tokens":2}"""));
        // The manifest's bytes as the package holds them, read here with the zip reader of the base library.
        using var zip = System.IO.Compression.ZipFile.OpenRead(fixture.Path);
        using var manifest = new MemoryStream();
        using (var entry = zip.GetEntry("manifest.json")!.Open()) entry.CopyTo(manifest);
        Assert.Equal("fp_" + Convert.ToHexStringLower(SHA256.HashData(manifest.ToArray()))[..12], answer.GetProperty("system_fingerprint").GetString());
        Assert.InRange(answer.GetProperty("created").GetInt64(), before, DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        var streamed = await (await test.Post("/v1/completions", """{"prompt":"Ada","max_tokens":2,"stream":true}""")).Content.ReadAsStringAsync();
        Assert.Contains($"\"system_fingerprint\":\"{answer.GetProperty("system_fingerprint").GetString()}\"", streamed);
    }

    [Fact]
    public async Task Models_are_created_when_the_artifact_file_was_written()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        long written = new DateTimeOffset(File.GetLastWriteTimeUtc(fixture.Path)).ToUnixTimeSeconds();
        Assert.True(written > 1_700_000_000); // a real time, not 0
        var models = await TestServer.Json(await test.Client.GetAsync("/v1/models"));
        foreach (var model in models.GetProperty("data").EnumerateArray()) // the base and its adapter
            Assert.Equal(written, model.GetProperty("created").GetInt64());
        Assert.Equal(2, models.GetProperty("data").GetArrayLength());
        var one = await TestServer.Json(await test.Client.GetAsync("/v1/models/" + fixture.Model.Id));
        Assert.Equal(written, one.GetProperty("created").GetInt64());
    }
}
