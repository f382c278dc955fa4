using Afm.Runtime;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Runtime.Generation;
using Microsoft.AspNetCore.Http;

namespace Afm.Serving;

/// <summary>POST /v1/completions and /v1/chat/completions: one generation per request, JSON or server-sent events.</summary>
internal sealed class CompletionEndpoint(AfmModel model, TextGenerator generator, RequestGate gate, ServerMetrics metrics, ServerOptions options)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// The body is bounded by Kestrel (<see cref="ServerOptions.MaxRequestBytes"/>) before it is read; a prompt that
    /// cannot fit the context by its size alone is refused before it is tokenized (<see cref="TextGenerator.ValidatePromptSize"/>);
    /// and the prompt is tokenized only once the request holds a generation slot: tokenizing is the one cost that grows
    /// with the prompt, so a burst of long prompts costs at most MaxConcurrent tokenizations at a time. Every answer,
    /// error or not, is counted by <see cref="ResponseGuard"/>.
    /// </summary>
    public async Task Handle(HttpContext context, bool chat)
    {
        var aborted = context.RequestAborted;
        try
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, aborted);
            var request = CompletionRequest.Parse(body.ToArray(), chat, model.Id, options);
            if (request.Options.Adapter is { } adapter && !model.Adapters.Contains(adapter))
                throw new ApiError(404, $"The model '{model.Id}' has no adapter '{adapter}'; GET /v1/models lists the adapters it has.", "adapter", "adapter_not_found");
            TextGenerator.ValidateOptions(request.Options, "request");
            generator.ValidatePromptSize(request.Prompt, "request");

            using var lease = await gate.TryEnterAsync(aborted);
            if (lease is null)
            {
                metrics.Rejected();
                context.Response.Headers.RetryAfter = "1";
                throw new ApiError(429, "The server is at capacity; retry shortly.", code: "overloaded", type: "server_overloaded");
            }
            var promptIds = generator.Tokenize(request.Prompt);
            generator.Validate(request.Options, promptIds.Count, "request");
            var clock = Stopwatch.StartNew();
            var stats = request.Stream ? await Stream(context, request, promptIds, chat, aborted) : await Complete(context, request, promptIds, chat, aborted);
            metrics.Completed(stats.PromptTokens, stats.CompletionTokens, clock.Elapsed);
        }
        catch (ApiError e)
        {
            await WriteError(context, e);
        }
        catch (DiagnosticException e)
        {
            await WriteError(context, new ApiError(400, e.Diagnostic.Message, code: e.Diagnostic.Code));
        }
    }

    public static async Task WriteError(HttpContext context, ApiError error)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = error.Status;
        await context.Response.WriteAsJsonAsync(error.Body, context.RequestAborted);
    }

    private async Task<GenerationStats> Complete(HttpContext context, CompletionRequest request, IReadOnlyList<int> promptIds, bool chat, CancellationToken aborted)
    {
        var text = new StringBuilder();
        GenerationChunk? last = null;
        await foreach (var chunk in generator.GenerateAsync(promptIds, request.Options, aborted))
        {
            text.Append(chunk.Text);
            last = chunk;
        }
        var stats = last!.Stats!;
        object choice = chat
            ? new { index = 0, message = new { role = "assistant", content = text.ToString() }, finish_reason = Finish(last.Finish) }
            : new { index = 0, text = text.ToString(), logprobs = (object?)null, finish_reason = Finish(last.Finish) };
        await context.Response.WriteAsJsonAsync(new
        {
            id = Id(chat),
            @object = chat ? "chat.completion" : "text_completion",
            created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            model = request.Model,
            choices = new[] { choice },
            usage = new { prompt_tokens = stats.PromptTokens, completion_tokens = stats.CompletionTokens, total_tokens = stats.PromptTokens + stats.CompletionTokens },
        }, Json, aborted);
        return stats;
    }

    /// <summary>Server-sent events as the OpenAI API streams them: one JSON chunk per piece of text, then <c>data: [DONE]</c>.</summary>
    private async Task<GenerationStats> Stream(HttpContext context, CompletionRequest request, IReadOnlyList<int> promptIds, bool chat, CancellationToken aborted)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        string id = Id(chat);
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string kind = chat ? "chat.completion.chunk" : "text_completion";
        if (chat) await Event(context, new { id, @object = kind, created, model = request.Model, choices = new[] { new { index = 0, delta = new { role = "assistant" }, finish_reason = (string?)null } } }, aborted);
        GenerationStats? stats = null;
        await foreach (var chunk in generator.GenerateAsync(promptIds, request.Options, aborted))
        {
            stats = chunk.Stats ?? stats;
            if (chunk.Text.Length == 0 && chunk.Finish is null) continue;
            object choice = chat
                ? new { index = 0, delta = (object)(chunk.Text.Length > 0 ? new { content = chunk.Text } : new { }), finish_reason = Finish(chunk.Finish) }
                : new { index = 0, text = chunk.Text, logprobs = (object?)null, finish_reason = Finish(chunk.Finish) };
            await Event(context, new { id, @object = kind, created, model = request.Model, choices = new[] { choice } }, aborted);
        }
        await context.Response.WriteAsync("data: [DONE]\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
        return stats!;
    }

    private static async Task Event(HttpContext context, object payload, CancellationToken aborted)
    {
        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(payload, Json) + "\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
    }

    private static string? Finish(FinishReason? reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => null,
    };

    private static string Id(bool chat) => (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
}
