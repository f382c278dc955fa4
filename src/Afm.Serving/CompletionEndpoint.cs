using Afm.Runtime;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Runtime.Generation;
using Microsoft.AspNetCore.Http;

namespace Afm.Serving;

/// <summary>POST /v1/completions and /v1/chat/completions: one generation per request, JSON or server-sent events.</summary>
internal sealed partial class CompletionEndpoint(AfmModel model, TextGenerator generator, RequestGate gate, ServerMetrics metrics, ServerOptions options,
    ChatTemplate? template = null)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly LogprobsJson logprobs = new(model.Tokenizer);
    private readonly string fingerprint = SystemFingerprint.Of(model);

    /// <summary>
    /// The body is bounded by Kestrel (<see cref="ServerOptions.MaxRequestBytes"/>) before it is read; a prompt that
    /// cannot fit the context by its size alone is refused before it is tokenized (<see cref="TextGenerator.ValidatePromptSize"/>);
    /// and the prompts are tokenized only once the request holds a generation slot: tokenizing is the one cost that grows
    /// with the prompt, so a burst of long prompts costs at most MaxConcurrent tokenizations at a time. A request's choices
    /// (prompts x n) run one after another in its slot. Every answer, error or not, is counted by <see cref="ResponseGuard"/>.
    /// </summary>
    public async Task Handle(HttpContext context, bool chat)
    {
        var aborted = context.RequestAborted;
        try
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, aborted);
            var request = CompletionRequest.Parse(body.ToArray(), chat, model.Id, options, template, [.. model.Adapters.Available.Select(a => a.Name)]);
            if (request.Options.Adapter is { } adapter && !model.Adapters.Contains(adapter))
                throw new ApiError(404, $"The model '{model.Id}' has no adapter '{adapter}'; GET /v1/models lists the adapters it has.", "adapter", "adapter_not_found");
            TextGenerator.ValidateOptions(request.Options, "request");
            foreach (var prompt in request.Prompts)
                if (prompt.Text is { } text) generator.ValidatePromptSize(text, "request");

            using var lease = await gate.TryEnterAsync(aborted);
            if (lease is null)
            {
                metrics.Rejected();
                context.Response.Headers.RetryAfter = "1";
                throw new ApiError(429, "The server is at capacity; retry shortly.", code: "overloaded", type: "server_overloaded");
            }
            var prompts = request.Prompts.Select(Tokens).ToList();
            foreach (var ids in prompts) generator.Validate(request.Options, ids.Count, "request");
            var clock = Stopwatch.StartNew();
            var choices = Choices(request, prompts);
            var (promptTokens, completionTokens) = request.Stream
                ? await Stream(context, request, choices, chat, aborted)
                : await Complete(context, request, choices, chat, aborted);
            metrics.Completed(promptTokens, completionTokens, clock.Elapsed);
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

    /// <summary>A prompt's ids: text tokenized as <c>afm run</c> does, ids as given once they fit the vocabulary.</summary>
    private IReadOnlyList<int> Tokens(PromptInput prompt)
    {
        if (prompt.Text is { } text) return prompt.AddBeginOfSequence ? generator.Tokenize(text) : model.Tokenizer.Encode(text);
        var ids = prompt.Ids!;
        int vocabulary = model.Session.VocabSize;
        return ids.FirstOrDefault(id => id >= vocabulary) is var bad && bad >= vocabulary
            ? throw new ApiError(400, $"Token id {bad} in 'prompt' is outside the model's vocabulary (0 to {vocabulary - 1}).", "prompt")
            : ids;
    }

    /// <summary>One choice of a request: which prompt it answers, its index in the response and its options.</summary>
    private sealed record Choice(int Index, PromptInput Prompt, IReadOnlyList<int> PromptIds, GenerationOptions Options);

    /// <summary>
    /// Prompt p's j-th choice has index p x n + j. With a seed, choice j samples with seed + j, so a request repeats
    /// exactly and its choices still differ.
    /// </summary>
    private static List<Choice> Choices(CompletionRequest request, List<IReadOnlyList<int>> prompts)
    {
        var choices = new List<Choice>();
        for (int p = 0; p < prompts.Count; p++)
            for (int j = 0; j < request.Choices; j++)
            {
                var sampling = request.Options.Sampling is { Seed: { } seed } s ? s with { Seed = unchecked(seed + j) } : request.Options.Sampling;
                choices.Add(new Choice(p * request.Choices + j, request.Prompts[p], prompts[p], request.Options with { Sampling = sampling }));
            }
        return choices;
    }

    public static async Task WriteError(HttpContext context, ApiError error)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = error.Status;
        await context.Response.WriteAsJsonAsync(error.Body, context.RequestAborted);
    }

    private async Task<(int Prompt, int Completion)> Complete(HttpContext context, CompletionRequest request, List<Choice> choices, bool chat, CancellationToken aborted)
    {
        var answers = new List<object>();
        int promptTokens = 0, completionTokens = 0;
        foreach (var choice in choices)
        {
            var text = new StringBuilder();
            var tokens = new List<TokenLogprob>();
            IReadOnlyList<TokenLogprob>? promptLogprobs = null;
            GenerationChunk? last = null;
            await foreach (var chunk in generator.GenerateAsync(choice.PromptIds, choice.Options, aborted))
            {
                promptLogprobs ??= chunk.PromptLogprobs;
                text.Append(chunk.Text);
                if (chunk.Logprobs is not null) tokens.AddRange(chunk.Logprobs);
                last = chunk;
            }
            var stats = last!.Stats!;
            if (choice.Index % request.Choices == 0) promptTokens += stats.PromptTokens; // a prompt counts once, as in the OpenAI API
            completionTokens += stats.CompletionTokens;
            var prefix = request.Echo ? EchoText(choice) : "";
            var (message, finish) = AssistantMessage(text.ToString(), request.Tools, last.Finish);
            answers.Add(chat
                ? new { index = choice.Index, message, logprobs = choice.Options.TopLogprobs is null ? null : logprobs.Chat(tokens), finish_reason = finish }
                : new { index = choice.Index, text = prefix + text, logprobs = Legacy(choice, request.Echo ? EchoTokens(choice, promptLogprobs) : [], tokens), finish_reason = Finish(last.Finish) });
        }
        await context.Response.WriteAsJsonAsync(new
        {
            id = Id(chat),
            @object = chat ? "chat.completion" : "text_completion",
            created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            model = request.Model,
            system_fingerprint = fingerprint,
            choices = answers,
            usage = Usage(promptTokens, completionTokens),
        }, Json, aborted);
        return (promptTokens, completionTokens);
    }

    /// <summary>
    /// Server-sent events as the OpenAI API streams them: one JSON chunk per piece of text of a choice (its index says
    /// which), then, with <c>stream_options.include_usage</c>, a chunk with no choices and the usage, then <c>data: [DONE]</c>.
    /// </summary>
    private async Task<(int Prompt, int Completion)> Stream(HttpContext context, CompletionRequest request, List<Choice> choices, bool chat, CancellationToken aborted)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        string id = Id(chat);
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string kind = chat ? "chat.completion.chunk" : "text_completion";
        // With include_usage every chunk carries "usage": null, and only the last one the numbers (OpenAI's shape).
        Task Send(object[] choiceList, object? usage = null) => Event(context, request.IncludeUsage
            ? new { id, @object = kind, created, model = request.Model, system_fingerprint = fingerprint, choices = choiceList, usage }
            : new { id, @object = kind, created, model = request.Model, system_fingerprint = fingerprint, choices = choiceList }, aborted);

        int promptTokens = 0, completionTokens = 0;
        foreach (var choice in choices)
        {
            if (chat && request.Tools is { ParsesCalls: true })
            {
                var (prompt, completion) = await StreamToolAnswer(choice, request, Send, aborted);
                promptTokens += choice.Index % request.Choices == 0 ? prompt : 0;
                completionTokens += completion;
                continue;
            }
            if (chat) await Send([new { index = choice.Index, delta = new { role = "assistant" }, logprobs = (object?)null, finish_reason = (string?)null }]);
            int offset = 0;
            bool echoed = !request.Echo;
            await foreach (var chunk in generator.GenerateAsync(choice.PromptIds, choice.Options, aborted))
            {
                if (!echoed)
                {
                    // The prompt's own log-probabilities arrive on the first chunk when asked for (echo with logprobs).
                    var echo = EchoText(choice);
                    var echoLogprobs = chunk.PromptLogprobs is { } prompt ? logprobs.Legacy(EchoTokens(choice, prompt), 0) : null;
                    await Send([new { index = choice.Index, text = echo, logprobs = echoLogprobs, finish_reason = (string?)null }]);
                    offset = echo.Length;
                    echoed = true;
                }
                if (chunk.Stats is { } stats)
                {
                    if (choice.Index % request.Choices == 0) promptTokens += stats.PromptTokens;
                    completionTokens += stats.CompletionTokens;
                }
                if (chunk.Text.Length == 0 && chunk.Finish is null && chunk.Logprobs is not { Count: > 0 }) continue;
                object piece = chat
                    ? new { index = choice.Index, delta = (object)(chunk.Text.Length > 0 ? new { content = chunk.Text } : new { }), logprobs = chunk.Logprobs is null ? null : logprobs.Chat(chunk.Logprobs), finish_reason = Finish(chunk.Finish) }
                    : new { index = choice.Index, text = chunk.Text, logprobs = chunk.Logprobs is null ? null : logprobs.Legacy(chunk.Logprobs.Select(t => (t.Id, (TokenLogprob?)t)).ToList(), offset), finish_reason = Finish(chunk.Finish) };
                offset += chunk.Text.Length;
                await Send([piece]);
            }
        }
        if (request.IncludeUsage) await Send([], Usage(promptTokens, completionTokens));
        await context.Response.WriteAsync("data: [DONE]\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
        return (promptTokens, completionTokens);
    }

    private static object Usage(int prompt, int completion) => new { prompt_tokens = prompt, completion_tokens = completion, total_tokens = prompt + completion };

    /// <summary>The prompt as a choice echoes it: its text, or the decoding of its ids.</summary>
    private string EchoText(Choice choice) => choice.Prompt.Text ?? model.Tokenizer.Decode(choice.PromptIds);

    /// <summary>
    /// The echoed prompt's tokens with their log-probabilities (<paramref name="promptLogprobs"/> starts at the second
    /// id). A text prompt's beginning-of-sequence token, which the text does not hold, is not listed.
    /// </summary>
    private List<(int Id, TokenLogprob? Logprob)> EchoTokens(Choice choice, IReadOnlyList<TokenLogprob>? promptLogprobs)
    {
        var ids = choice.PromptIds;
        int first = choice.Prompt.Text is not null && model.Tokenizer.Roles.AddBeginOfSequence ? 1 : 0;
        var list = new List<(int Id, TokenLogprob? Logprob)>();
        for (int i = first; i < ids.Count; i++)
            list.Add((ids[i], i == 0 ? null : promptLogprobs?[i - 1]));
        return list;
    }

    /// <summary>A completion choice's legacy logprobs: the echoed prompt's tokens, then the generated ones; null when not asked for.</summary>
    private object? Legacy(Choice choice, List<(int Id, TokenLogprob? Logprob)> echoed, List<TokenLogprob> tokens)
    {
        if (choice.Options.TopLogprobs is null) return null;
        echoed.AddRange(tokens.Select(t => (t.Id, (TokenLogprob?)t)));
        return logprobs.Legacy(echoed, 0);
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
