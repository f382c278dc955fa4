namespace Afm.Runtime.Generation.Constraints;

/// <summary>
/// Where a JSON text is after some characters, as an immutable value: the open containers (a persistent stack, so a
/// state is shared by every continuation tried from it) and the lexical position inside the current token. Follows
/// RFC 8259's grammar exactly; whitespace between tokens is limited to <see cref="MaxWhitespace"/> characters in a row,
/// so a constrained model cannot spend its tokens on blank space.
/// </summary>
public sealed record JsonState : ITextAutomaton
{
    public const int MaxWhitespace = 4;

    internal enum Mode
    {
        /// <summary>A value must come (top level, after ':' or ',' in an array).</summary>
        Value,
        /// <summary>After '{': a key or '}'.</summary>
        ObjectOpen,
        /// <summary>After ',' in an object: a key.</summary>
        Key,
        KeyString, KeyEscape, KeyHex,
        /// <summary>After a key: ':'.</summary>
        Colon,
        String, StringEscape, StringHex,
        /// <summary>After '[': a value or ']'.</summary>
        ArrayOpen,
        /// <summary>After a value: ',' or the container's closer (or the end, at the top level).</summary>
        AfterValue,
        Minus, Zero, Integer, Dot, Fraction, Exponent, ExponentSign, ExponentDigits,
        Literal,
        Done,
    }

    /// <summary>A persistent stack of open containers: true for an object, false for an array.</summary>
    /// <summary>
    /// Containers nest at most this deep (System.Text.Json's default limit): a model that opens '[' on every token would
    /// otherwise grow the stack with the budget, and states are compared and hashed by value.
    /// </summary>
    public const int MaxDepth = 64;

    internal sealed record Frame(bool IsObject, Frame? Below, int Depth);

    internal Mode Position { get; init; }
    internal Frame? Open { get; init; }
    /// <summary>The rest of a literal being spelled (true, false, null), or the hex digits left of a \u escape.</summary>
    internal string Rest { get; init; } = "";
    internal int Whitespace { get; init; }
    /// <summary>Only an object may start the text (the OpenAI API's json_object).</summary>
    internal bool ObjectOnly { get; init; }

    public static JsonState Start(bool objectOnly) => new() { Position = Mode.Value, ObjectOnly = objectOnly };

    /// <summary>',' in an object: from nothing owed to a key, a colon and a value ("":0).</summary>
    public int MaxRisePerCharacter => 4;

    /// <summary>The text so far is one complete JSON value.</summary>
    public bool IsComplete => Position == Mode.Done || (Open is null && Position is Mode.Zero or Mode.Integer or Mode.Fraction or Mode.ExponentDigits);

    /// <summary>
    /// The fewest characters that complete the text from here: the current token's end, a placeholder value where one is
    /// still owed ("0", or "{}" at the start of a json_object), and one closer per open container.
    /// </summary>
    public int CharactersToComplete
    {
        get
        {
            int closers = Open?.Depth ?? 0;
            int here = Position switch
            {
                Mode.Value => Open is null ? (ObjectOnly ? 2 : 1) : 1,
                Mode.ObjectOpen or Mode.ArrayOpen or Mode.AfterValue or Mode.Done => 0,
                Mode.Key => 4,                          // "":0
                Mode.KeyString => 3,                    // ":0
                Mode.KeyEscape => 4,
                Mode.KeyHex => Rest.Length + 3,
                Mode.Colon => 2,
                Mode.String => 1,
                Mode.StringEscape => 2,
                Mode.StringHex => Rest.Length + 1,
                Mode.Minus or Mode.Dot or Mode.Exponent or Mode.ExponentSign => 1,
                Mode.Zero or Mode.Integer or Mode.Fraction or Mode.ExponentDigits => 0,
                Mode.Literal => Rest.Length,
                _ => 0,
            };
            return here + closers;
        }
    }

    ITextAutomaton? ITextAutomaton.Advance(char c) => Advance(c);

    /// <summary>The state after <paramref name="c"/>, or null when no JSON text continues this way.</summary>
    public JsonState? Advance(char c)
    {
        switch (Position)
        {
            case Mode.String or Mode.KeyString:
                bool key = Position == Mode.KeyString;
                if (c == '"') return key ? this with { Position = Mode.Colon, Whitespace = 0 } : Closed();
                if (c == '\\') return this with { Position = key ? Mode.KeyEscape : Mode.StringEscape };
                return c < 0x20 ? null : this;
            case Mode.StringEscape or Mode.KeyEscape:
                bool inKey = Position == Mode.KeyEscape;
                if (c == 'u') return this with { Position = inKey ? Mode.KeyHex : Mode.StringHex, Rest = "xxxx" };
                return "\"\\/bfnrt".Contains(c) ? this with { Position = inKey ? Mode.KeyString : Mode.String } : null;
            case Mode.StringHex or Mode.KeyHex:
                if (!Uri.IsHexDigit(c)) return null;
                return Rest.Length > 1 ? this with { Rest = Rest[1..] }
                    : this with { Rest = "", Position = Position == Mode.KeyHex ? Mode.KeyString : Mode.String };
            case Mode.Literal:
                if (c != Rest[0]) return null;
                return Rest.Length > 1 ? this with { Rest = Rest[1..] } : Closed();
            case Mode.Minus:
                return c == '0' ? this with { Position = Mode.Zero } : c is >= '1' and <= '9' ? this with { Position = Mode.Integer } : null;
            case Mode.Dot:
                return char.IsAsciiDigit(c) ? this with { Position = Mode.Fraction } : null;
            case Mode.Exponent:
                return c is '+' or '-' ? this with { Position = Mode.ExponentSign } : char.IsAsciiDigit(c) ? this with { Position = Mode.ExponentDigits } : null;
            case Mode.ExponentSign:
                return char.IsAsciiDigit(c) ? this with { Position = Mode.ExponentDigits } : null;
            case Mode.Zero or Mode.Integer or Mode.Fraction or Mode.ExponentDigits:
                if (char.IsAsciiDigit(c) && Position != Mode.Zero) return this;
                if (c == '.' && Position is Mode.Zero or Mode.Integer) return this with { Position = Mode.Dot };
                if (c is 'e' or 'E' && Position is not Mode.ExponentDigits) return this with { Position = Mode.Exponent };
                return Closed().Advance(c); // the number ends; the character belongs to what follows
        }

        if (c is ' ' or '\t' or '\n' or '\r')
            return Position == Mode.Done || Whitespace >= MaxWhitespace ? null : this with { Whitespace = Whitespace + 1 };
        var next = this with { Whitespace = 0 };
        switch (Position)
        {
            case Mode.Value:
                return next.BeginValue(c);
            case Mode.ArrayOpen:
                return c == ']' ? next.Pop() : next.BeginValue(c);
            case Mode.ObjectOpen:
                return c == '}' ? next.Pop() : c == '"' ? next with { Position = Mode.KeyString } : null;
            case Mode.Key:
                return c == '"' ? next with { Position = Mode.KeyString } : null;
            case Mode.Colon:
                return c == ':' ? next with { Position = Mode.Value } : null;
            case Mode.AfterValue:
                if (Open is null) return null;
                if (c == ',') return next with { Position = Open.IsObject ? Mode.Key : Mode.Value };
                return c == (Open.IsObject ? '}' : ']') ? next.Pop() : null;
            default:
                return null;
        }
    }

    private JsonState? BeginValue(char c)
    {
        if (ObjectOnly && Open is null && c != '{') return null;
        if (c is '{' or '[' && (Open?.Depth ?? 0) >= MaxDepth) return null;
        return c switch
        {
            '{' => this with { Position = Mode.ObjectOpen, Open = new Frame(true, Open, (Open?.Depth ?? 0) + 1) },
            '[' => this with { Position = Mode.ArrayOpen, Open = new Frame(false, Open, (Open?.Depth ?? 0) + 1) },
            '"' => this with { Position = Mode.String },
            '-' => this with { Position = Mode.Minus },
            '0' => this with { Position = Mode.Zero },
            >= '1' and <= '9' => this with { Position = Mode.Integer },
            't' => this with { Position = Mode.Literal, Rest = "rue" },
            'f' => this with { Position = Mode.Literal, Rest = "alse" },
            'n' => this with { Position = Mode.Literal, Rest = "ull" },
            _ => null,
        };
    }

    /// <summary>A value just ended: after it comes a separator, a closer, or (at the top level) the end.</summary>
    private JsonState Closed() => this with { Position = Open is null ? Mode.Done : Mode.AfterValue, Rest = "", Whitespace = 0 };

    private JsonState Pop() => (this with { Open = Open!.Below }).Closed();
}
