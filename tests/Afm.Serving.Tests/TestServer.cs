using Afm.Runtime;
using Afm.Runtime.Tests;
using System.Text;
using System.Text.Json;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 (ephemeral port) and a real HttpClient pointed at it.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(AfmServer server) => Server = server;

    public AfmServer Server { get; }
    public HttpClient Client { get; } = new();

    public Uri Address => Client.BaseAddress!;

    public static async Task<TestServer> StartAsync(AfmModel model, ServerOptions options)
    {
        var test = new TestServer(await AfmServer.StartAsync(model, options with { Urls = ["http://127.0.0.1:0"] }));
        test.Client.BaseAddress = new Uri(test.Server.Addresses.Single());
        return test;
    }

    public Task<HttpResponseMessage> Post(string path, string json) =>
        Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>The official openai npm client (tests/peers/openai/client.mjs) doing <paramref name="op"/> against this server.</summary>
    public System.Text.Json.Nodes.JsonNode AskNpmClient(string op, System.Text.Json.Nodes.JsonObject request)
    {
        request["op"] = op;
        request["baseURL"] = new Uri(Address, "/v1").ToString();
        return NodePeer.OpenAI.Ask("client.mjs", request);
    }

    /// <summary>Microsoft.Extensions.AI's chat client over the OpenAI .NET library, pointed at this server.</summary>
    public Microsoft.Extensions.AI.IChatClient ChatClient(string model, string key = "unused") =>
        Microsoft.Extensions.AI.OpenAIClientExtensions.AsIChatClient(new OpenAI.OpenAIClient(new System.ClientModel.ApiKeyCredential(key),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(Address, "/v1") }).GetChatClient(model));

    public static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
