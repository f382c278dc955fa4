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

    public static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
