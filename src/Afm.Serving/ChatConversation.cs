using System.Text.Json.Nodes;
using Afm.Runtime;

namespace Afm.Serving;

/// <summary>
/// A multi-turn chat held outside HTTP (<c>afm run --chat</c>): the messages so far, each turn's prompt rendered as the
/// server renders a chat request (the model's chat template, else the plain transcript with its stop at the next user
/// turn), tokenized as the server tokenizes it.
/// </summary>
public sealed class ChatConversation(AfmModel model, ChatTemplate? template, string? system = null)
{
    private readonly JsonArray messages = system is null ? [] : [new JsonObject { ["role"] = "system", ["content"] = system }];

    /// <summary>The prompt ids of the conversation with <paramref name="user"/>'s message added, and the stops of its answer.</summary>
    public (IReadOnlyList<int> PromptIds, IReadOnlyList<string> Stops) Ask(string user)
    {
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = user });
        var stops = new List<string>();
        if (template is null) return (model.Generator.Tokenize(ChatTranscript.Render(messages, stops, tools: null)), stops);
        // The template writes the beginning-of-sequence token itself when the model wants one.
        return (model.Tokenizer.Encode(template.Render(messages, tools: null)), stops);
    }

    /// <summary>Adds the model's answer to the last question, as the assistant's turn.</summary>
    public void Answer(string reply) => messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = reply.Trim() });
}
