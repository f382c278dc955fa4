using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Runtime;
using Afm.Tokenizers;

namespace Afm.Serving;

/// <summary>
/// A model's Jinja chat template (tokenizer_config.json's <c>chat_template</c>, or one given to <c>afm serve
/// --chat-template</c>), rendered by ONNX Runtime GenAI's <c>Tokenizer.ApplyChatTemplate</c> rather than a template
/// engine of our own (issue #19). GenAI 0.18 renders the real templates of Qwen2.5, Qwen3, Llama 3.1, Mistral v0.3,
/// Phi-3 and SmolLM2, with and without tools, exactly as Hugging Face's own renderer does (ChatTemplateRenderingTests).
/// It runs in a process of its own under a deadline and a memory limit (<see cref="ChatTemplateRenderer"/>): a
/// template is code, and a hostile one must not hang or end the server or the build that checks it.
/// </summary>
public sealed class ChatTemplate : IDisposable
{
    private readonly ChatTemplateRenderer renderer;

    private ChatTemplate(string source, ChatTemplateRenderer renderer)
    {
        Source = source;
        this.renderer = renderer;
    }

    /// <summary>The template's text.</summary>
    public string Source { get; }

    /// <summary>
    /// The conversation a template must render before it is used (no system turn: some templates refuse one).
    /// </summary>
    public static JsonArray SampleConversation() =>
    [
        new JsonObject { ["role"] = "user", ["content"] = "Hello." },
        new JsonObject { ["role"] = "assistant", ["content"] = "Hi. How can I help?" },
        new JsonObject { ["role"] = "user", ["content"] = "Name a colour." },
    ];

    /// <summary>
    /// The template chat requests are rendered with: <paramref name="given"/> (<c>--chat-template-file</c>), else the
    /// artifact tokenizer's <c>chat_template</c>, else null (the plain transcript). One that cannot render
    /// <see cref="SampleConversation"/> is AFM7013 at start, never a failure at request time.
    /// </summary>
    public static ChatTemplate? ForModel(AfmModel model, string? given, string source = "afm serve")
    {
        var text = given ?? model.Tokenizer.ChatTemplate;
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return Checked(model.Tokenizer, text);
        }
        catch (ChatTemplateException e)
        {
            throw RuntimeCodes.Error(RuntimeCodes.ChatTemplateUnusable, source,
                $"the chat template ({(given is null ? "the artifact's tokenizer_config.json" : "--chat-template-file")}) cannot render a three-turn conversation: {e.Message}");
        }
    }

    /// <summary>
    /// <paramref name="text"/> loaded with <paramref name="tokenizer"/>'s bos/eos token texts, once it has rendered
    /// <see cref="SampleConversation"/>; the build's tokenizer stage runs the same check on a checkpoint's template.
    /// </summary>
    public static ChatTemplate Checked(AfmTokenizer tokenizer, string text)
    {
        string? Named(int? id) => tokenizer.AddedTokens.FirstOrDefault(t => t.Id == id)?.Content;
        var template = Load(text, Named(tokenizer.Roles.BeginOfSequence), Named(tokenizer.Roles.EndOfSequence));
        try
        {
            template.Render(SampleConversation(), tools: null);
            return template;
        }
        catch
        {
            template.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="template"/> with the bos/eos token texts it may write; its renderer process starts with the
    /// first render (<see cref="ChatTemplateRenderer"/>).
    /// </summary>
    public static ChatTemplate Load(string template, string? beginOfSequence, string? endOfSequence) =>
        new(template, new ChatTemplateRenderer(beginOfSequence, endOfSequence));

    /// <summary>
    /// The prompt of a conversation: <paramref name="messages"/> and <paramref name="tools"/> as the template's JSON
    /// variables (transformers' names), ending with the assistant's opening when <paramref name="addGenerationPrompt"/>.
    /// A template that raises (<c>raise_exception</c>, e.g. roles that do not alternate) or fails throws
    /// <see cref="ChatTemplateException"/> with its message.
    /// </summary>
    public string Render(JsonArray messages, JsonArray? tools, bool addGenerationPrompt = true)
    {
        // GenAI 0.18 rewrites the tools it is given into Phi-4-mini's shape (parameters as name -> {"type": "str"}, no
        // "type": "function", no "required") for most templates: Llama 3.1's rendered a schema that was not the
        // request's. So the request's tools are set as a Jinja literal ahead of the template, exactly as given.
        var source = tools is null ? Source : "{% set tools = " + Literal(tools) + " %}" + Source;
        return renderer.Render(source, messages.ToJsonString(), addGenerationPrompt);
    }

    /// <summary>A JSON value as a Jinja literal: lists, dicts and strings as in JSON; true, false and none.</summary>
    internal static string Literal(JsonNode? node) => node switch
    {
        null => "none",
        JsonArray array => "[" + string.Join(", ", array.Select(Literal)) + "]",
        JsonObject map => "{" + string.Join(", ", map.Select(p => Quote(p.Key) + ": " + Literal(p.Value))) + "}",
        JsonValue value when value.GetValueKind() == JsonValueKind.String => Quote(value.GetValue<string>()),
        JsonValue value when value.GetValueKind() == JsonValueKind.True => "true",
        JsonValue value when value.GetValueKind() == JsonValueKind.False => "false",
        _ => node.ToJsonString(),
    };

    /// <summary>A Jinja string literal: only the backslash, the quote and control characters escaped.</summary>
    private static string Quote(string text)
    {
        var quoted = new System.Text.StringBuilder("\"");
        foreach (var c in text)
            quoted.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return quoted.Append('"').ToString();
    }

    public void Dispose() => renderer.Dispose();
}

/// <summary>The chat template could not render a conversation; the message is the template's own.</summary>
public sealed class ChatTemplateException(string message) : Exception(message);
