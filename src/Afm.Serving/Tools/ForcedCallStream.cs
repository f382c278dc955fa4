using System.Text;
using System.Text.RegularExpressions;

namespace Afm.Serving.Tools;

/// <summary>
/// A forced call (<c>tool_choice</c> required or named) read as it is generated, for streaming it as OpenAI does: the
/// constraint makes the text exactly <c>{"name": "f", "arguments": {...}}</c> (whitespace between tokens aside), so the
/// name is known once its string closes and every character after <c>"arguments":</c> up to the object's closing brace
/// is the arguments' JSON text, sent as it arrives (without the whitespace between tokens). Its strings are as the model
/// wrote them, where the answer that is not streamed re-encodes them (the same JSON value, other escapes).
/// </summary>
internal sealed partial class ForcedCallStream
{
    private readonly StringBuilder text = new();
    private int sent, depth;
    private bool inString, escaped, closed;

    /// <summary>The called function's name, once known.</summary>
    public string? Name { get; private set; }

    /// <summary>The arguments' text is complete (its object closed).</summary>
    public bool Complete => closed;

    /// <summary>How much of <see cref="Text"/> the name and the arguments took: once <see cref="Complete"/>, where the call's
    /// own closing brace can come.</summary>
    public int Consumed => sent;

    /// <summary>The whole text so far (what a choice that turned out not to be a call answers as content).</summary>
    public string Text => text.ToString();

    /// <summary>
    /// Adds generated text; returns whether the name became known with it (<see cref="Name"/>) and the arguments'
    /// characters that arrived with it ("" when none).
    /// </summary>
    public (bool NameKnown, string Arguments) Add(string chunk)
    {
        text.Append(chunk);
        bool named = false;
        if (Name is null)
        {
            var head = Head().Match(text.ToString());
            if (!head.Success) return (false, "");
            Name = head.Groups[1].Value;
            sent = head.Length;
            named = true;
        }
        var arguments = new StringBuilder();
        while (!closed && sent < text.Length)
        {
            char c = text[sent++];
            if (inString)
            {
                if (escaped) escaped = false;
                else if (c == '\\') escaped = true;
                else if (c == '"') inString = false;
            }
            else if (c is ' ' or '\t' or '\n' or '\r') continue; // between tokens: the arguments are sent compact
            else if (c == '"') inString = true;
            else if (c is '{' or '[') depth++;
            else if (c is '}' or ']' && --depth == 0) closed = true;
            arguments.Append(c);
        }
        return (named, arguments.ToString());
    }

    /// <summary>Names are the OpenAI API's <c>A-Za-z0-9_-</c>, so the name's string holds no escape.</summary>
    [GeneratedRegex("""^\s*\{\s*"name"\s*:\s*"([A-Za-z0-9_-]{1,64})"\s*,\s*"arguments"\s*:\s*""")]
    private static partial Regex Head();
}
