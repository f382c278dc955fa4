using System.Globalization;
using System.Text.Json;
using Afm.Runtime.Generation;
using Afm.Runtime.Generation.Constraints;
using Afm.Serving.Tools;

namespace Afm.Serving;

/// <summary>
/// A /v1/completions or /v1/chat/completions request reduced to what the generator needs. Parsed by hand from
/// the JSON so every malformed or unsupported field gets a 400 naming it, rather than a binder's generic failure.
/// </summary>
/// <param name="Model">The model as answered back: the base name, or "name:adapter" when an adapter was selected
/// (by the <c>adapter</c> field or by <c>model: "name:adapter"</c>).</param>
/// <param name="Prompts">The prompts, each answered by <paramref name="Choices"/> choices (chat: one prompt).</param>
/// <param name="Echo">Completions' <c>echo</c>: each choice's text starts with its prompt.</param>
/// <param name="LegacyLogprobs">Completions report logprobs in the legacy shape (tokens, token_logprobs, top_logprobs,
/// text_offset); chat in the <c>content</c> list shape.</param>
/// <param name="IncludeUsage"><c>stream_options.include_usage</c>: a last streamed chunk carries the usage.</param>
/// <param name="Tools">Chat's <c>tools</c> and <c>tool_choice</c>; null without tools.</param>
public sealed record CompletionRequest(string Model, IReadOnlyList<PromptInput> Prompts, GenerationOptions Options, bool Stream,
    int Choices = 1, bool Echo = false, bool LegacyLogprobs = false, bool IncludeUsage = false, ToolRequest? Tools = null)
{
    /// <summary>Role prefixes of the plain-text chat transcript; the model is a base model with no chat template.</summary>
    public const string UserPrefix = "User: ", AssistantPrefix = "Assistant:", SystemPrefix = "System: ";

    /// <summary>
    /// The OpenAI API's limit on <c>stop</c>. Every stop sequence is searched after every token, so the work per token
    /// grows with their number, and a 1 MiB body could hold about a hundred thousand.
    /// </summary>
    public const int MaxStopSequences = 4;

    /// <summary>
    /// The most choices (prompts x n) one request may ask for. Choices run one after another inside the request's
    /// generation slot, so this bounds how long one request holds it; the OpenAI API allows n up to 128, llama-server
    /// and vLLM bound it by their own settings.
    /// </summary>
    public const int MaxChoices = 16;

    /// <summary>The OpenAI API's limit on the legacy completions <c>logprobs</c>.</summary>
    public const int MaxLegacyLogprobs = 5;

    /// <param name="template">The model's chat template, which renders chat messages; null for the plain transcript.</param>
    /// <param name="adapters">The names of the adapters <c>lora</c> ids index (<see cref="LoraField"/>).</param>
    public static CompletionRequest Parse(byte[] body, bool chat, string modelId, ServerOptions server, ChatTemplate? template = null, IReadOnlyList<string>? adapters = null)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(body); }
        catch (JsonException e) { throw new ApiError(400, $"The request body is not valid JSON: {e.Message}", code: "invalid_json"); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ApiError(400, "The request body must be a JSON object.", code: "invalid_json");

            var model = String(root, "model") ?? modelId;
            var separator = model.IndexOf(':');
            var adapter = separator >= 0 ? model[(separator + 1)..] : String(root, "adapter");
            if (separator >= 0) model = model[..separator];
            if (model != modelId) throw new ApiError(404, $"The model '{model}' does not exist; this server serves '{modelId}'.", "model", "model_not_found");
            if (string.IsNullOrEmpty(adapter)) adapter = null;
            double adapterScale = 1;
            if (LoraField.Read(root, adapters ?? []) is { } lora)
            {
                if (adapter is not null)
                    throw new ApiError(400, $"'lora' and the adapter '{Clip(adapter)}' of 'model' (or 'adapter') both choose an adapter; use one.", "lora");
                (adapter, adapterScale) = lora;
            }

            var stops = new List<string>();
            if (root.TryGetProperty("stop", out var stop) && stop.ValueKind != JsonValueKind.Null)
            {
                if (stop.ValueKind == JsonValueKind.String) stops.Add(Text(stop, "stop"));
                else if (stop.ValueKind == JsonValueKind.Array && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
                    stops.AddRange(stop.EnumerateArray().Select(s => Text(s, "stop")));
                else throw new ApiError(400, "'stop' must be a string or an array of strings.", "stop");
                if (stops.Count > MaxStopSequences)
                    throw new ApiError(400, $"'stop' holds {stops.Count} sequences; at most {MaxStopSequences} are allowed.", "stop");
            }

            var tools = chat ? ToolRequest.Parse(root) : null;
            IReadOnlyList<PromptInput> prompts = chat ? [ChatPrompt.Render(root, stops, template, tools)] : PromptInput.Parse(root);
            long n = Integer(root, "n") ?? 1;
            if (n < 1 || n * prompts.Count > MaxChoices)
                throw new ApiError(400, $"'n' must be at least 1, and n times the number of prompts at most {MaxChoices}; got n = {n} for {prompts.Count} prompt(s).", "n");

            long? completionTokens = chat ? Integer(root, "max_completion_tokens") : null;
            var maxTokensField = completionTokens is null ? "max_tokens" : "max_completion_tokens";
            long maxTokens = completionTokens ?? Integer(root, "max_tokens") ?? server.DefaultMaxTokens;
            if (maxTokens < 1 || maxTokens > GenerationOptions.MaxTokensLimit)
                throw new ApiError(400, $"{maxTokensField} must be an integer between 1 and {GenerationOptions.MaxTokensLimit}, got {maxTokens}.", maxTokensField);

            var sampling = new SamplingOptions
            {
                Temperature = Number(root, "temperature") ?? 1.0,
                TopP = Number(root, "top_p") ?? 1.0,
                // Beyond int, top-k means "every token", as int.MaxValue does; a negative one is refused with the other ranges.
                TopK = (int)Math.Clamp(Integer(root, "top_k") ?? 0, int.MinValue, int.MaxValue),
                Seed = Integer(root, "seed"),
                PresencePenalty = Ranged(root, "presence_penalty", SamplingOptions.MaxPenalty),
                FrequencyPenalty = Ranged(root, "frequency_penalty", SamplingOptions.MaxPenalty),
                LogitBias = LogitBias(root),
            };
            var stream = Boolean(root, "stream");
            var includeUsage = StreamOptions(root, stream);
            var echo = !chat && Boolean(root, "echo");
            var topLogprobs = chat ? ChatLogprobs(root) : LegacyLogprobCount(root);
            var options = new GenerationOptions
            {
                MaxTokens = (int)maxTokens, Sampling = sampling, StopSequences = stops, Adapter = adapter, AdapterScale = adapterScale,
                TopLogprobs = topLogprobs, PromptLogprobs = echo && topLogprobs is not null, Constraint = ToolOrFormat(root, tools),
            };
            return new CompletionRequest(adapter is null ? modelId : $"{modelId}:{adapter}", prompts, options, stream, (int)n, echo, !chat, includeUsage, tools);
        }
    }

    /// <summary>A forced tool call's constraint, else the response format's; a request cannot ask for both.</summary>
    private static ITextAutomaton? ToolOrFormat(JsonElement root, ToolRequest? tools)
    {
        var format = Constraint(root);
        if (tools?.Constraint() is not { } call) return format;
        return format is null ? call : throw new ApiError(400, "A forced tool call ('tool_choice' required or a named function) cannot be combined with a 'response_format'.", "tool_choice");
    }

    /// <summary>
    /// <c>response_format</c>: <c>text</c> (default), <c>json_object</c> or <c>json_schema</c>, enforced by constrained
    /// decoding. A schema with a keyword the constraint cannot enforce is refused, naming it, rather than answered with
    /// output the schema might reject.
    /// </summary>
    private static ITextAutomaton? Constraint(JsonElement root)
    {
        if (!root.TryGetProperty("response_format", out var format) || format.ValueKind == JsonValueKind.Null) return null;
        var type = format.ValueKind == JsonValueKind.Object ? String(format, "type") : null;
        switch (type)
        {
            case "text": return null;
            case "json_object": return JsonState.Start(objectOnly: true);
            case "json_schema":
                if (!format.TryGetProperty("json_schema", out var named) || named.ValueKind != JsonValueKind.Object || !named.TryGetProperty("schema", out var schema))
                    throw new ApiError(400, "'response_format.json_schema.schema' is required.", "response_format");
                try { return SchemaState.Start(SchemaShape.Compile(schema)); }
                catch (SchemaException e) { throw new ApiError(400, $"response_format: {e.Message}", "response_format", "unsupported_schema"); }
            default:
                throw new ApiError(400, "'response_format' must be an object whose 'type' is 'text', 'json_object' or 'json_schema'.", "response_format");
        }
    }

    /// <summary>Chat: <c>logprobs</c> (bool) and <c>top_logprobs</c> (0-20, only with logprobs), as the OpenAI API defines them.</summary>
    private static int? ChatLogprobs(JsonElement root)
    {
        var top = Integer(root, "top_logprobs");
        if (!Boolean(root, "logprobs"))
            return top is null ? null : throw new ApiError(400, "'top_logprobs' needs 'logprobs': true.", "top_logprobs");
        if (top is < 0 or > GenerationOptions.MaxTopLogprobs)
            throw new ApiError(400, $"'top_logprobs' must be between 0 and {GenerationOptions.MaxTopLogprobs}, got {top}.", "top_logprobs");
        return (int)(top ?? 0);
    }

    /// <summary>Completions: <c>logprobs</c> is the number of alternatives (0-5), null for none.</summary>
    private static int? LegacyLogprobCount(JsonElement root)
    {
        if (Integer(root, "logprobs") is not { } count) return null;
        return count is >= 0 and <= MaxLegacyLogprobs ? (int)count
            : throw new ApiError(400, $"'logprobs' must be between 0 and {MaxLegacyLogprobs}, got {count}.", "logprobs");
    }

    private static bool StreamOptions(JsonElement root, bool stream)
    {
        if (!root.TryGetProperty("stream_options", out var options) || options.ValueKind == JsonValueKind.Null) return false;
        if (!stream) throw new ApiError(400, "'stream_options' is only allowed when 'stream' is true.", "stream_options");
        if (options.ValueKind != JsonValueKind.Object) throw new ApiError(400, "'stream_options' must be an object.", "stream_options");
        return Boolean(options, "include_usage");
    }

    /// <summary><c>logit_bias</c>: an object from token ids (as strings) to numbers from -100 to 100.</summary>
    private static Dictionary<int, double> LogitBias(JsonElement root)
    {
        var biases = new Dictionary<int, double>();
        if (!root.TryGetProperty("logit_bias", out var map) || map.ValueKind == JsonValueKind.Null) return biases;
        if (map.ValueKind != JsonValueKind.Object) throw new ApiError(400, "'logit_bias' must be an object from token ids to numbers.", "logit_bias");
        foreach (var entry in map.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                throw new ApiError(400, $"'logit_bias' keys must be token ids (whole numbers), got '{Clip(entry.Name)}'.", "logit_bias");
            biases[id] = Ranged(map, entry.Name, SamplingOptions.MaxLogitBias, "logit_bias");
        }
        return biases;
    }

    /// <summary>A number between -<paramref name="limit"/> and <paramref name="limit"/>, 0 when absent.</summary>
    private static double Ranged(JsonElement element, string name, double limit, string? param = null)
    {
        var value = Number(element, name, param) ?? 0;
        return Math.Abs(value) <= limit ? value : throw new ApiError(400, $"'{name}' must be between -{limit} and {limit}, got {value}.", param ?? name);
    }

    private static bool Boolean(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return false;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ApiError(400, $"'{name}' must be true or false.", name),
        };
    }

    internal static string Clip(string text, int length = 40) => text.Length <= length ? text : text[..length] + "...";

    internal static string? String(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? Text(value, name) : throw new ApiError(400, $"'{name}' must be a string.", name);
    }

    /// <summary>
    /// A JSON string as .NET text. JSON allows an escaped lone surrogate ("\ud800") and the parser does not check the
    /// UTF-8 inside strings, but neither can become a string: System.Text.Json throws when asked, which must be the
    /// client's 400, not the server's 500.
    /// </summary>
    internal static string Text(JsonElement value, string name)
    {
        try { return value.GetString()!; }
        catch (InvalidOperationException)
        {
            throw new ApiError(400, $"'{name}' is not valid Unicode: it holds a lone UTF-16 surrogate or invalid UTF-8.", name, "invalid_encoding");
        }
    }

    /// <summary>A finite number; JSON allows literals (1e400) that overflow a double.</summary>
    private static double? Number(JsonElement element, string name, string? param = null)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number) throw new ApiError(400, $"'{Clip(name)}' must be a number.", param ?? name);
        return value.TryGetDouble(out var number) && double.IsFinite(number) ? number : throw new ApiError(400, $"'{Clip(name)}' must be a finite number.", param ?? name);
    }

    /// <summary>A whole number in the range of a 64-bit integer ("16" and "16.0" alike; 1.5 and 1e30 are refused).</summary>
    internal static long? Integer(JsonElement element, string name)
    {
        if (Number(element, name) is not { } number) return null;
        if (element.GetProperty(name).TryGetInt64(out var exact)) return exact;
        if (number == Math.Floor(number) && number >= long.MinValue && number < -(double)long.MinValue) return (long)number;
        throw new ApiError(400, $"'{name}' must be a whole number between {long.MinValue} and {long.MaxValue}, got {number}.", name);
    }
}
