using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Runtime;
using Afm.Tokenizers;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace Afm.Serving;

/// <summary>
/// A model's Jinja chat template (tokenizer_config.json's <c>chat_template</c>, or one given to <c>afm serve
/// --chat-template</c>), rendered by ONNX Runtime GenAI's <c>Tokenizer.ApplyChatTemplate</c> rather than a template
/// engine of our own (issue #19). GenAI 0.18 renders the real templates of Qwen2.5, Qwen3, Llama 3.1, Mistral v0.3,
/// Phi-3 and SmolLM2, with and without tools, exactly as Hugging Face's own renderer does (ChatTemplateRenderingTests).
/// GenAI reads the template's <c>bos_token</c>/<c>eos_token</c> from a tokenizer folder, so a tiny one is written
/// for it (a three-token vocabulary: rendering never tokenizes) and removed once loaded.
/// </summary>
public sealed class ChatTemplate : IDisposable
{
    private readonly Tokenizer renderer;
    // GenAI's tokenizer object is not documented as safe for concurrent calls; rendering is microseconds.
    private readonly Lock gate = new();

    private ChatTemplate(string source, Tokenizer renderer)
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
    public static ChatTemplate? ForModel(AfmModel model, string? given)
    {
        var text = given ?? model.Tokenizer.ChatTemplate;
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return Checked(model.Tokenizer, text);
        }
        catch (ChatTemplateException e)
        {
            throw RuntimeCodes.Error(RuntimeCodes.ChatTemplateUnusable, "afm serve",
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

    public static ChatTemplate Load(string template, string? beginOfSequence, string? endOfSequence)
    {
        var folder = Path.Combine(Path.GetTempPath(), "afm-chat-template-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            string bos = beginOfSequence ?? "", eos = endOfSequence ?? "";
            var vocabulary = new JsonObject { ["\u0001"] = 0 };
            var added = new JsonArray();
            foreach (var token in new[] { bos, eos }.Where(t => t.Length > 0).Distinct())
            {
                vocabulary[token] = vocabulary.Count;
                added.Add(new JsonObject { ["id"] = vocabulary.Count - 1, ["content"] = token, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true });
            }
            var tokenizer = new JsonObject
            {
                ["version"] = "1.0", ["added_tokens"] = added,
                ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocabulary, ["merges"] = new JsonArray(), ["fuse_unk"] = false, ["byte_fallback"] = false },
            };
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer.ToJsonString());
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), new JsonObject
            {
                ["bos_token"] = bos, ["eos_token"] = eos, ["tokenizer_class"] = "PreTrainedTokenizerFast", ["chat_template"] = template,
            }.ToJsonString());
            // GenAI opens a tokenizer folder through its config; only the keys its reader requires.
            File.WriteAllText(Path.Combine(folder, "genai_config.json"), new JsonObject
            {
                ["model"] = new JsonObject { ["type"] = "llama", ["vocab_size"] = vocabulary.Count, ["context_length"] = 1, ["bos_token_id"] = 0, ["eos_token_id"] = 0, ["pad_token_id"] = 0 },
            }.ToJsonString());
            return new ChatTemplate(template, new Tokenizer(folder));
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

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
        try
        {
            lock (gate) return renderer.ApplyChatTemplate(source, messages.ToJsonString(), "", addGenerationPrompt);
        }
        catch (OnnxRuntimeGenAIException e)
        {
            throw new ChatTemplateException(e.Message);
        }
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
