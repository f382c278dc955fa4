using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Serving.Tools;

namespace Afm.Serving;

/// <summary>
/// A chat request's <c>messages</c> (and <c>tools</c>) as the prompt: rendered by the model's chat template when it has
/// one, else the plain transcript (<see cref="ChatTranscript"/>). Messages are first read into the variables
/// transformers gives a template: roles system/user/assistant/tool (<c>developer</c> is <c>system</c>), content a
/// string (text parts joined), an assistant's <c>tool_calls</c> with their arguments as objects (OpenAI sends them as a
/// JSON text; templates such as Qwen's write <c>arguments | tojson</c>, as vLLM and llama-server prepare them).
/// </summary>
internal static class ChatPrompt
{
    public static PromptInput Render(JsonElement root, List<string> stops, ChatTemplate? template, ToolRequest? tools)
    {
        var messages = Read(root);
        if (template is null) return new PromptInput(ChatTranscript.Render(messages, stops, tools));
        try
        {
            // The template writes the beginning-of-sequence token itself when the model wants one.
            return new PromptInput(template.Render(messages, tools?.Json), AddBeginOfSequence: false);
        }
        catch (ChatTemplateException e)
        {
            throw new ApiError(400, $"The model's chat template refused these messages: {CompletionRequest.Clip(e.Message, 300)}", "messages", "chat_template_error");
        }
    }

    public static JsonArray Read(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw new ApiError(400, "'messages' must be a non-empty array.", "messages");
        var read = new JsonArray();
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object) throw new ApiError(400, "Every message must be an object with a 'role'.", "messages");
            var role = CompletionRequest.String(message, "role") switch
            {
                "system" or "developer" => "system",
                "user" => "user",
                "assistant" => "assistant",
                "tool" => "tool",
                null => throw new ApiError(400, "Every message needs a string 'role'.", "messages"),
                var other => throw new ApiError(400, $"Unknown message role '{CompletionRequest.Clip(other)}'.", "messages"),
            };
            var calls = role == "assistant" ? ToolCalls(message) : null;
            var content = Content(message, optional: calls is not null);
            var node = new JsonObject { ["role"] = role, ["content"] = content };
            if (calls is not null) node["tool_calls"] = calls;
            if (role == "tool")
                node["tool_call_id"] = CompletionRequest.String(message, "tool_call_id") ?? throw new ApiError(400, "A 'tool' message needs the 'tool_call_id' it answers.", "messages");
            if (CompletionRequest.String(message, "name") is { } name) node["name"] = name;
            read.Add(node);
        }
        return read;
    }

    /// <summary>A string, or the text parts of an array joined; absent or null only beside tool calls.</summary>
    private static string Content(JsonElement message, bool optional)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            return optional ? "" : throw new ApiError(400, "Every message needs a 'content' (a string or an array of text parts).", "messages");
        if (content.ValueKind == JsonValueKind.String) return CompletionRequest.Text(content, "content");
        if (content.ValueKind == JsonValueKind.Array)
            return string.Concat(content.EnumerateArray().Select(part =>
                part.ValueKind == JsonValueKind.Object && CompletionRequest.String(part, "type") == "text" && CompletionRequest.String(part, "text") is { } text
                    ? text
                    : throw new ApiError(400, "Only text content parts ({\"type\": \"text\", \"text\": ...}) are supported.", "messages")));
        throw new ApiError(400, "A message's 'content' must be a string or an array of text parts.", "messages");
    }

    private static JsonArray? ToolCalls(JsonElement message)
    {
        if (!message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind == JsonValueKind.Null) return null;
        if (calls.ValueKind != JsonValueKind.Array) throw new ApiError(400, "An assistant message's 'tool_calls' must be an array.", "messages");
        var read = new JsonArray();
        foreach (var call in calls.EnumerateArray())
        {
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                || CompletionRequest.String(function, "name") is not { } name)
                throw new ApiError(400, "Every tool call needs a 'function' with a 'name' and 'arguments'.", "messages");
            var text = CompletionRequest.String(function, "arguments") ?? "{}";
            JsonNode? arguments;
            try { arguments = JsonNode.Parse(text); }
            catch (JsonException) { arguments = null; }
            if (arguments is not JsonObject)
                throw new ApiError(400, $"The arguments of the call of '{CompletionRequest.Clip(name)}' must be a JSON object text.", "messages");
            read.Add(new JsonObject
            {
                ["id"] = CompletionRequest.String(call, "id") ?? ToolCallParser.NewId(),
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
            });
        }
        return read;
    }
}
