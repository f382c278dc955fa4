using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Afm.Runtime.Generation.Constraints;

namespace Afm.Serving.Tools;

/// <summary>How the model may use the request's tools: OpenAI's <c>tool_choice</c>.</summary>
public enum ToolChoice
{
    /// <summary>The model answers in text or calls tools (the default with tools).</summary>
    Auto,
    /// <summary>The tools are described but the answer is text, never parsed into calls.</summary>
    None,
    /// <summary>The answer is a call of one of the tools, forced by constrained decoding.</summary>
    Required,
}

/// <summary>One function of the request's <c>tools</c>.</summary>
/// <param name="Parameters">Its <c>parameters</c> JSON schema (an empty object schema when absent).</param>
public sealed record ToolFunction(string Name, JsonElement Parameters);

/// <summary>
/// A chat request's <c>tools</c> and <c>tool_choice</c>. <see cref="Forced"/> names the functions a call must be of
/// (all of them for <c>required</c>, one for a named choice), null when the model answers freely.
/// </summary>
public sealed partial record ToolRequest(IReadOnlyList<ToolFunction> Functions, ToolChoice Choice, IReadOnlyList<ToolFunction>? Forced, JsonArray Json)
{
    /// <summary>The OpenAI API's rule for a function name.</summary>
    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();

    /// <summary>The model's output is parsed into calls.</summary>
    public bool ParsesCalls => Choice != ToolChoice.None;

    /// <summary>The request's tools, or null when it has none (and no <c>tool_choice</c> but "none"/"auto").</summary>
    public static ToolRequest? Parse(JsonElement root)
    {
        root.TryGetProperty("tool_choice", out var choice);
        if (!root.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null)
        {
            if (choice.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
                || (choice.ValueKind == JsonValueKind.String && choice.GetString() is "none" or "auto")) return null;
            throw new ApiError(400, "'tool_choice' is only allowed when 'tools' are given.", "tool_choice");
        }
        if (tools.ValueKind != JsonValueKind.Array || tools.GetArrayLength() == 0)
            throw new ApiError(400, "'tools' must be a non-empty array of {\"type\": \"function\", \"function\": {...}}.", "tools");
        var functions = new List<ToolFunction>();
        foreach (var tool in tools.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object || CompletionRequest.String(tool, "type") != "function"
                || !tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                throw new ApiError(400, "Every tool must be {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": ...}}.", "tools");
            var name = CompletionRequest.String(function, "name") ?? throw new ApiError(400, "Every tool's function needs a 'name'.", "tools");
            if (!NamePattern().IsMatch(name))
                throw new ApiError(400, $"Function name '{CompletionRequest.Clip(name)}' must be 1 to 64 letters, digits, underscores or dashes.", "tools");
            if (functions.Any(f => f.Name == name)) throw new ApiError(400, $"Two tools are named '{name}'.", "tools");
            CompletionRequest.String(function, "description");
            var parameters = function.TryGetProperty("parameters", out var schema) && schema.ValueKind != JsonValueKind.Null
                ? schema.ValueKind == JsonValueKind.Object ? schema.Clone() : throw new ApiError(400, $"The parameters of '{name}' must be a JSON schema object.", "tools")
                : JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();
            functions.Add(new ToolFunction(name, parameters));
        }

        var (kind, forced) = ReadChoice(choice, functions);
        return new ToolRequest(functions, kind, forced, JsonNode.Parse(tools.GetRawText())!.AsArray());
    }

    private static (ToolChoice, IReadOnlyList<ToolFunction>?) ReadChoice(JsonElement choice, List<ToolFunction> functions)
    {
        switch (choice.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null: return (ToolChoice.Auto, null);
            case JsonValueKind.String:
                return CompletionRequest.Text(choice, "tool_choice") switch
                {
                    "auto" => (ToolChoice.Auto, null),
                    "none" => (ToolChoice.None, null),
                    "required" => (ToolChoice.Required, functions),
                    var other => throw new ApiError(400, $"'tool_choice' must be 'none', 'auto', 'required' or a named function, got '{CompletionRequest.Clip(other)}'.", "tool_choice"),
                };
            case JsonValueKind.Object when CompletionRequest.String(choice, "type") == "function"
                && choice.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object:
                var name = CompletionRequest.String(function, "name");
                var named = functions.FirstOrDefault(f => f.Name == name)
                    ?? throw new ApiError(400, $"'tool_choice' names the function '{CompletionRequest.Clip(name ?? "")}', which is not among the 'tools'.", "tool_choice");
                return (ToolChoice.Required, [named]);
            default:
                throw new ApiError(400, "'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": ...}}.", "tool_choice");
        }
    }

    /// <summary>
    /// The constraint of a forced call: the output is exactly one JSON object <c>{"name": "f", "arguments": {...}}</c>
    /// whose name is one of <see cref="Forced"/> and whose arguments validate against that function's parameters schema
    /// (SchemaShape's subset; a keyword it cannot enforce is a 400 naming the function). Null when nothing is forced.
    /// </summary>
    public ITextAutomaton? Constraint()
    {
        if (Forced is null) return null;
        var shapes = new List<SchemaState>();
        foreach (var function in Forced)
        {
            SchemaShape arguments;
            try { arguments = SchemaShape.Compile(function.Parameters); }
            catch (SchemaException e) { throw new ApiError(400, $"tools: the parameters of '{function.Name}': {e.Message}", "tools", "unsupported_schema"); }
            shapes.Add(SchemaState.Start(new ObjectShape([("name", new LiteralsShape([JsonSerializer.Serialize(function.Name)])), ("arguments", arguments)])));
        }
        return shapes.Count == 1 ? shapes[0] : AnyOfState.Start(shapes);
    }
}
