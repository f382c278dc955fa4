using Afm.Runtime;
using Afm.Runtime.Batching;
using Afm.Runtime.Generation;
using Afm.Runtime.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Afm.Serving;

/// <summary>
/// The OpenAI-compatible HTTP server over one loaded model (Kestrel): /v1/completions, /v1/chat/completions,
/// /v1/models, /healthz, /metrics. Requests run concurrently on the model's one session, behind a bounded
/// queue. Decode steps of concurrent requests are batched into shared runs by a <see cref="DecodeBatcher"/>
/// (<see cref="ServerOptions.MaxBatchSize"/>; prefill runs per request).
/// </summary>
public sealed class AfmServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly DecodeBatcher? batcher;
    private readonly ChatTemplate? template;

    private AfmServer(WebApplication app, RequestGate gate, DecodeBatcher? batcher, ChatTemplate? template)
    {
        this.app = app;
        Gate = gate;
        this.batcher = batcher;
        this.template = template;
    }

    /// <summary>The decode batcher, null when batching is off (MaxBatchSize 1) or the graph cannot batch.</summary>
    public DecodeBatcher? Batcher => batcher;

    /// <summary>The admission gate; tests occupy it to reach the overload path deterministically.</summary>
    internal RequestGate Gate { get; }

    /// <summary>The addresses Kestrel actually listens on (the real port when a URL asked for port 0).</summary>
    public IReadOnlyList<string> Addresses =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    public static async Task<AfmServer> StartAsync(AfmModel model, ServerOptions options, CancellationToken cancellationToken = default)
    {
        // Before anything else starts: a template that cannot render is the operator's to fix now, not a 400 later.
        var template = ChatTemplate.ForModel(model, options.ChatTemplate);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls([.. options.Urls]);
        // Kestrel refuses a larger body (413) before it is read: no request can make the server buffer or tokenize more.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        // The host logs a failed start with its stack trace; StartAsync reports it as one AFM7101 line instead.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        if (options.CorsOrigins.Count > 0) builder.Services.AddCors();
        var app = builder.Build();

        var gate = new RequestGate(options.MaxConcurrent, options.QueueLimit);
        var batcher = options.MaxBatchSize > 1 && model.Session.SupportsBatching
            ? new DecodeBatcher(model.Session, new BatchingOptions { MaxBatchSize = options.MaxBatchSize, MaxWait = options.BatchWait })
            : null;
        var promptCache = options.PromptCacheBytes > 0 ? new PromptCache(options.PromptCacheBytes) : null;
        var generator = batcher is null && promptCache is null ? model.Generator
            : new TextGenerator(model.Session, model.Tokenizer, model.Adapters, batcher, model.EndIds, promptCache);
        var metrics = new ServerMetrics(batcher, promptCache);
        var completions = new CompletionEndpoint(model, generator, gate, metrics, options, template);
        var guard = new ResponseGuard(metrics, options, app.Logger);
        app.Use(guard.InvokeAsync);
        // CORS before the key: a browser's preflight carries no credentials.
        if (options.CorsOrigins.Count > 0)
            app.UseCors(cors => (options.CorsOrigins.Contains("*") ? cors.AllowAnyOrigin() : cors.WithOrigins([.. options.CorsOrigins])).AllowAnyHeader().AllowAnyMethod());
        if (!string.IsNullOrEmpty(options.ApiKey)) app.Use(new ApiKeyCheck(options.ApiKey).InvokeAsync);
        var tokenize = new TokenizeEndpoints(model);
        app.MapPost("/tokenize", context => tokenize.Tokenize(context)).WithName("tokenize");
        app.MapPost("/detokenize", context => tokenize.Detokenize(context)).WithName("detokenize");
        // Endpoint names are the metric labels (afm_requests_total{endpoint=...}). Without a fallback route, routing
        // answers 404 for an unknown path and 405 for a known path under another method; ResponseGuard gives both a body.
        app.MapPost("/v1/completions", context => completions.Handle(context, chat: false)).WithName("completions");
        app.MapPost("/v1/chat/completions", context => completions.Handle(context, chat: true)).WithName("chat_completions");
        app.MapGet("/v1/models", () => Results.Json(ModelList.Of(model))).WithName("models");
        app.MapGet("/v1/models/{id}", (string id) => ModelList.Find(model, id) is { } entry
            ? Results.Json(entry)
            : Results.Json(new ApiError(404, $"The model '{id}' does not exist; GET /v1/models lists the models this server serves.", "model", "model_not_found").Body,
                statusCode: 404)).WithName("model");
        // llama-server's list of adapters with the ids its per-request "lora" field uses; none is active without that field.
        app.MapGet("/lora-adapters", () => Results.Json(model.Adapters.Available.Select((a, id) => new { id, name = a.Name, scale = 0.0 }).ToList())).WithName("lora_adapters");
        app.MapGet("/healthz", () => Results.Json(new { status = "ok", model = model.Id })).WithName("healthz");
        app.MapGet("/metrics", () => Results.Text(metrics.Render(gate), "text/plain; version=0.0.4")).WithName("metrics");

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or FormatException or InvalidOperationException)
        {
            // A port in use (IOException), a URL Kestrel cannot parse (FormatException) or bind (e.g. https without a
            // certificate): the user's setting, so one diagnostic line instead of Kestrel's stack trace.
            batcher?.Dispose();
            template?.Dispose();
            await app.DisposeAsync();
            throw RuntimeCodes.Error(RuntimeCodes.CannotListen, "afm serve", $"cannot listen on {string.Join(";", options.Urls)}: {e.Message}");
        }
        catch
        {
            batcher?.Dispose();
            template?.Dispose();
            throw;
        }
        return new AfmServer(app, gate, batcher, template);
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        batcher?.Dispose();
        template?.Dispose();
    }
}
