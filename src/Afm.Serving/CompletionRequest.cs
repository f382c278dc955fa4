using System.Text;
using System.Text.Json;
using Afm.Runtime.Generation;

namespace Afm.Serving;

/// <summary>
/// A /v1/completions or /v1/chat/completions request reduced to what the generator needs. Parsed by hand from
/// the JSON so every malformed or unsupported field gets a 400 naming it, rather than a binder's generic failure.
/// </summary>
/// <param name="Model">The model as answered back: the base name, or "name:adapter" when an adapter was selected
/// (by the <c>adapter</c> field or by <c>model: "name:adapter"</c>).</param>
public sealed record CompletionRequest(string Model, string Prompt, GenerationOptions Options, bool Stream)
{
    /// <summary>Role prefixes of the plain-text chat transcript; the model is a base model with no chat template.</summary>
    public const string UserPrefix = "User: ", AssistantPrefix = "Assistant:";

    /// <summary>
    /// The OpenAI API's limit on <c>stop</c>. Every stop sequence is searched after every token, so the work per token
    /// grows with their number, and a 1 MiB body could hold about a hundred thousand.
    /// </summary>
    public const int MaxStopSequences = 4;

    public static CompletionRequest Parse(byte[] body, bool chat, string modelId, ServerOptions server)
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
            if (Integer(root, "n") is { } n && n != 1) throw new ApiError(400, "Only n = 1 is supported.", "n");

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

            string prompt = chat ? ChatPrompt(root, stops) : TextPrompt(root);
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
            };
            var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
            var options = new GenerationOptions { MaxTokens = (int)maxTokens, Sampling = sampling, StopSequences = stops, Adapter = adapter };
            return new CompletionRequest(adapter is null ? modelId : $"{modelId}:{adapter}", prompt, options, stream);
        }
    }

    private static string TextPrompt(JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var prompt)) throw new ApiError(400, "'prompt' is required.", "prompt");
        if (prompt.ValueKind == JsonValueKind.String) return Text(prompt, "prompt");
        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String) return Text(prompt[0], "prompt");
        throw new ApiError(400, "'prompt' must be a string (or an array of one string).", "prompt");
    }

    /// <summary>"System: ...\nUser: ...\nAssistant: ...\nAssistant:", and a stop at the next "\nUser:" turn.</summary>
    private static string ChatPrompt(JsonElement root, List<string> stops)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw new ApiError(400, "'messages' must be a non-empty array.", "messages");
        var text = new StringBuilder();
        foreach (var message in messages.EnumerateArray())
        {
            var role = message.ValueKind == JsonValueKind.Object ? String(message, "role") : null;
            var content = message.ValueKind == JsonValueKind.Object ? String(message, "content") : null;
            if (role is null || content is null) throw new ApiError(400, "Every message needs a string 'role' and a string 'content'.", "messages");
            var prefix = role switch
            {
                "system" or "developer" => "System: ",
                "user" => UserPrefix,
                "assistant" => AssistantPrefix + " ",
                _ => throw new ApiError(400, $"Unknown message role '{role}'.", "messages"),
            };
            text.Append(prefix).Append(content).Append('\n');
        }
        stops.Add("\n" + UserPrefix.TrimEnd());
        return text.Append(AssistantPrefix).ToString();
    }

    private static string? String(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? Text(value, name) : throw new ApiError(400, $"'{name}' must be a string.", name);
    }

    /// <summary>
    /// A JSON string as .NET text. JSON allows an escaped lone surrogate ("\ud800") and the parser does not check the
    /// UTF-8 inside strings, but neither can become a string: System.Text.Json throws when asked, which must be the
    /// client's 400, not the server's 500.
    /// </summary>
    private static string Text(JsonElement value, string name)
    {
        try { return value.GetString()!; }
        catch (InvalidOperationException)
        {
            throw new ApiError(400, $"'{name}' is not valid Unicode: it holds a lone UTF-16 surrogate or invalid UTF-8.", name, "invalid_encoding");
        }
    }

    /// <summary>A finite number; JSON allows literals (1e400) that overflow a double.</summary>
    private static double? Number(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number) throw new ApiError(400, $"'{name}' must be a number.", name);
        return value.TryGetDouble(out var number) && double.IsFinite(number) ? number : throw new ApiError(400, $"'{name}' must be a finite number.", name);
    }

    /// <summary>A whole number in the range of a 64-bit integer ("16" and "16.0" alike; 1.5 and 1e30 are refused).</summary>
    private static long? Integer(JsonElement element, string name)
    {
        if (Number(element, name) is not { } number) return null;
        if (element.GetProperty(name).TryGetInt64(out var exact)) return exact;
        if (number == Math.Floor(number) && number >= long.MinValue && number < -(double)long.MinValue) return (long)number;
        throw new ApiError(400, $"'{name}' must be a whole number between {long.MinValue} and {long.MaxValue}, got {number}.", name);
    }
}
