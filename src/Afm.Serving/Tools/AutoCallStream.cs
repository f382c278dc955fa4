using System.Text;

namespace Afm.Serving.Tools;

/// <summary>What a streamed choice sends next: text, the start of a call (its index and name), or a piece of its arguments.</summary>
internal abstract record CallStreamEvent
{
    public sealed record Content(string Text) : CallStreamEvent;
    public sealed record CallStart(int Index, string Name) : CallStreamEvent;
    public sealed record Arguments(int Index, string Text) : CallStreamEvent;
}

/// <summary>
/// A <c>tool_choice: "auto"</c> answer read as it is generated, so that a call streams as OpenAI streams one (a delta
/// with the call's index, id, type and name, then its arguments in pieces) instead of arriving whole at the end. Text
/// is content until an opener of <see cref="ToolCallParser"/>'s formats: <c>&lt;tool_call&gt;</c> (Hermes/Qwen) or
/// <c>[TOOL_CALLS] [</c> (Mistral) anywhere, or a JSON object as the whole answer (afm's convention, Llama's after
/// <c>&lt;|python_tag|&gt;</c>); a suffix that could begin an opener is held back until the next token decides.
/// After an opener, a call whose head is <c>{"name": "f", "arguments": {</c> with a declared <c>f</c> streams through
/// <see cref="ForcedCallStream"/>'s reader, and the next opener is looked for after it. An answer of any other shape
/// (keys in another order, <c>"parameters"</c>, arguments as a string, an undeclared name, a head that does not come
/// within <see cref="HeadLimit"/> characters) is held to its end and read whole by <see cref="ToolCallParser"/>, as the
/// answer that is not streamed: its calls (past those already sent) or its text are sent then. Text after the calls is
/// dropped, as the parser drops it.
/// </summary>
internal sealed class AutoCallStream(IReadOnlyCollection<string> names)
{
    private const string HermesOpen = "<tool_call>", MistralOpen = "[TOOL_CALLS]", PythonTag = "<|python_tag|>";
    /// <summary>Characters after an opener within which a streamable head must have come (a 64-character name fits many times).</summary>
    private const int HeadLimit = 256;

    private enum Mode { Start, Content, Between, Call, Whole, Done }
    private enum Format { Json, Hermes, Mistral }

    private readonly StringBuilder text = new();
    private Mode mode = Mode.Start;
    private Format format;
    private int position, contentSent;
    private bool expectCall;
    private ForcedCallStream? call;
    private int callStart, fed;
    private string? pendingName;

    /// <summary>Calls whose start was sent.</summary>
    public int Calls { get; private set; }

    /// <summary>Adds generated text; returns what to send for it (possibly nothing yet).</summary>
    public List<CallStreamEvent> Add(string chunk)
    {
        text.Append(chunk);
        var events = new List<CallStreamEvent>();
        while (Step(events)) { }
        return events;
    }

    /// <summary>
    /// The end of the answer: what is still to send, and whether the answer was calls (then the last call is complete
    /// unless <see cref="CallCut"/>).
    /// </summary>
    public List<CallStreamEvent> Finish()
    {
        var events = new List<CallStreamEvent>();
        if (mode == Mode.Call && pendingName is null && call!.Name is not null && Calls > 0) return events; // cut inside a call's arguments
        if (mode is Mode.Whole or Mode.Call || mode == Mode.Between && Calls == 0)
        {
            var (_, calls) = ToolCallParser.Parse(text.ToString(), names);
            if (calls.Count > Calls)
            {
                foreach (var parsed in calls.Skip(Calls))
                {
                    events.Add(new CallStreamEvent.CallStart(Calls, parsed.Name));
                    events.Add(new CallStreamEvent.Arguments(Calls++, parsed.Arguments));
                }
                return events;
            }
            if (Calls > 0) return events;
        }
        if (Calls == 0 && contentSent < text.Length) events.Add(new CallStreamEvent.Content(text.ToString(contentSent, text.Length - contentSent)));
        return events;
    }

    /// <summary>The answer ended inside a call's arguments (the budget ran out): its finish reason is the generation's.</summary>
    public bool CallCut => mode == Mode.Call && call is { Name: not null, Complete: false } && pendingName is null;

    private bool Step(List<CallStreamEvent> events) => mode switch
    {
        Mode.Start => StartStep(),
        Mode.Content => ContentStep(events),
        Mode.Between => BetweenStep(),
        Mode.Call => CallStep(events),
        _ => false,
    };

    /// <summary>The answer's first characters: a JSON object (after whitespace and an optional python tag) is a call, anything else is text.</summary>
    private bool StartStep()
    {
        int i = position = SkipSpace(position); // whitespace is looked at once (content is sent from contentSent)
        if (i == text.Length) return false;
        if (Rest(i).StartsWith(PythonTag, StringComparison.Ordinal)) i = SkipSpace(i + PythonTag.Length);
        else if (PythonTag.StartsWith(Rest(i), StringComparison.Ordinal)) return false;
        if (i == text.Length) return false;
        if (text[i] == '{')
        {
            format = Format.Json;
            BeginCall(i);
        }
        else mode = Mode.Content;
        return true;
    }

    private bool ContentStep(List<CallStreamEvent> events)
    {
        var rest = Rest(position);
        int hermes = rest.IndexOf(HermesOpen, StringComparison.Ordinal), mistral = rest.IndexOf(MistralOpen, StringComparison.Ordinal);
        if (hermes >= 0 || mistral >= 0)
        {
            bool isHermes = mistral < 0 || hermes >= 0 && hermes < mistral;
            int at = isHermes ? hermes : mistral;
            SendContent(events, position + at);
            format = isHermes ? Format.Hermes : Format.Mistral;
            position += at + (isHermes ? HermesOpen : MistralOpen).Length;
            mode = Mode.Between;
            expectCall = true;
            return true;
        }
        int held = Math.Max(HeldBack(rest, HermesOpen), HeldBack(rest, MistralOpen));
        SendContent(events, text.Length - held);
        position = text.Length - held;
        return false;
    }

    /// <summary>Between an opener and a call, or after a call: where the next call starts, if one does.</summary>
    private bool BetweenStep()
    {
        int i = position = SkipSpace(position);
        if (i == text.Length) return false;
        if (expectCall)
        {
            if (text[i] == '{') { BeginCall(i); return true; }
            if (format == Format.Mistral && text[i] == '[' && Calls == 0 && call is null) { position = i + 1; return true; }
            mode = Mode.Whole;
            return false;
        }
        switch (format)
        {
            case Format.Hermes:
                var next = Rest(i).IndexOf(HermesOpen, StringComparison.Ordinal);
                if (next < 0)
                {
                    // Only an end that could begin the opener is looked at again: each character once, however long the text.
                    position = Math.Max(i, text.Length - (HermesOpen.Length - 1));
                    return false;
                }
                position = i + next + HermesOpen.Length;
                expectCall = true;
                return true;
            case Format.Mistral:
                while (i < text.Length && (text[i] == '}' || char.IsWhiteSpace(text[i]))) i++;
                if (i == text.Length) { position = i; return false; }
                if (text[i] == ',') { position = i + 1; expectCall = true; return true; }
                mode = Mode.Done;
                return false;
            default:
                mode = Mode.Done;
                return false;
        }
    }

    private bool CallStep(List<CallStreamEvent> events)
    {
        if (fed == text.Length) return false;
        var (named, arguments) = call!.Add(text.ToString(fed, text.Length - fed));
        fed = text.Length;
        if (call.Name is null)
        {
            if (call.Text.Length > HeadLimit) mode = Mode.Whole;
            return false;
        }
        if (named)
        {
            if (!names.Contains(call.Name)) { mode = Mode.Whole; return false; }
            pendingName = call.Name;
        }
        if (pendingName is not null)
        {
            if (arguments.Length == 0) return false;
            if (arguments[0] != '{') { mode = Mode.Whole; return false; } // arguments as a string: the parser decodes them
            events.Add(new CallStreamEvent.CallStart(Calls, pendingName));
            pendingName = null;
            Calls++;
        }
        if (arguments.Length > 0) events.Add(new CallStreamEvent.Arguments(Calls - 1, arguments));
        if (call.Complete)
        {
            position = callStart + call.Consumed;
            mode = Mode.Between;
            expectCall = false;
            return true;
        }
        return false;
    }

    private void BeginCall(int at)
    {
        call = new ForcedCallStream();
        callStart = fed = at;
        pendingName = null;
        mode = Mode.Call;
    }

    private void SendContent(List<CallStreamEvent> events, int end)
    {
        if (end > contentSent) events.Add(new CallStreamEvent.Content(text.ToString(contentSent, end - contentSent)));
        contentSent = Math.Max(contentSent, end);
    }

    private string Rest(int from) => text.ToString(from, text.Length - from);

    private int SkipSpace(int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
        return i;
    }

    /// <summary>The length of the longest end of <paramref name="rest"/> that begins <paramref name="opener"/>.</summary>
    private static int HeldBack(string rest, string opener)
    {
        for (int n = Math.Min(opener.Length - 1, rest.Length); n > 0; n--)
            if (string.CompareOrdinal(rest, rest.Length - n, opener, 0, n) == 0) return n;
        return 0;
    }
}
