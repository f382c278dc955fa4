using System.Text.Json;
using System.Text.Json.Nodes;

namespace Afm.Serving.Tools;

/// <summary>A call the model made: the function's name and its arguments as a JSON text (OpenAI's shape).</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);

/// <summary>
/// The model's output read as tool calls, in the formats chat templates teach (specs/serving.md, "Tools"):
/// <list type="bullet">
/// <item>Qwen/Hermes: <c>&lt;tool_call&gt;{"name": ..., "arguments": {...}}&lt;/tool_call&gt;</c>, one or more, after optional text;</item>
/// <item>Mistral: <c>[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]</c>;</item>
/// <item>Llama 3.x, and afm's own convention (what a forced call is constrained to): the whole output one JSON object
/// <c>{"name": ..., "arguments": {...}}</c> (Llama writes <c>"parameters"</c>; a leading <c>&lt;|python_tag|&gt;</c> is dropped).</item>
/// </list>
/// Only a call of a declared function whose arguments are a JSON object counts; anything else stays text.
/// </summary>
public static class ToolCallParser
{
    private const string HermesOpen = "<tool_call>", HermesClose = "</tool_call>", MistralTag = "[TOOL_CALLS]", PythonTag = "<|python_tag|>";

    /// <summary>The calls in <paramref name="text"/> and the text before them (null when there is none), or no calls and the text.</summary>
    public static (string? Content, IReadOnlyList<ToolCall> Calls) Parse(string text, IReadOnlyCollection<string> names)
    {
        var hermes = text.IndexOf(HermesOpen, StringComparison.Ordinal);
        if (hermes >= 0 && Hermes(text[hermes..], names) is { Count: > 0 } tagged) return (Before(text, hermes), tagged);

        var mistral = text.IndexOf(MistralTag, StringComparison.Ordinal);
        if (mistral >= 0 && Calls(Json(text[(mistral + MistralTag.Length)..]), names) is { Count: > 0 } listed) return (Before(text, mistral), listed);

        var trimmed = text.Trim();
        if (trimmed.StartsWith(PythonTag, StringComparison.Ordinal)) trimmed = trimmed[PythonTag.Length..].TrimStart();
        if (Json(trimmed) is JsonObject single && Call(single, names) is { } call) return (null, [call]);
        return (text, []);
    }

    private static string? Before(string text, int at) => text[..at].Trim() is { Length: > 0 } before ? before : null;

    /// <summary>Every &lt;tool_call&gt; block; the last may lack its closing tag when the output ended there.</summary>
    private static List<ToolCall> Hermes(string text, IReadOnlyCollection<string> names)
    {
        var calls = new List<ToolCall>();
        foreach (var block in text.Split(HermesOpen, StringSplitOptions.RemoveEmptyEntries))
        {
            var close = block.IndexOf(HermesClose, StringComparison.Ordinal);
            if (Json(close >= 0 ? block[..close] : block) is JsonObject body && Call(body, names) is { } call) calls.Add(call);
        }
        return calls;
    }

    private static List<ToolCall> Calls(JsonNode? node, IReadOnlyCollection<string> names) => node switch
    {
        JsonArray array => array.OfType<JsonObject>().Select(o => Call(o, names)).OfType<ToolCall>().ToList(),
        JsonObject single => Call(single, names) is { } call ? [call] : [],
        _ => [],
    };

    private static ToolCall? Call(JsonObject body, IReadOnlyCollection<string> names)
    {
        if (body["name"] is not JsonValue nameValue || !nameValue.TryGetValue<string>(out var name) || !names.Contains(name)) return null;
        var arguments = body["arguments"] ?? body["parameters"];
        // Some models write the arguments as a JSON text inside a string, as the OpenAI API itself carries them.
        if (arguments is JsonValue inner && inner.TryGetValue<string>(out var encoded)) arguments = Json(encoded);
        return arguments is JsonObject ? new ToolCall(NewId(), name, arguments.ToJsonString()) : null;
    }

    private static JsonNode? Json(string text)
    {
        try { return JsonNode.Parse(text.Trim()); }
        catch (JsonException) { return null; }
    }

    /// <summary>A call id as the OpenAI API writes them.</summary>
    public static string NewId() => "call_" + Guid.NewGuid().ToString("N")[..24];
}
