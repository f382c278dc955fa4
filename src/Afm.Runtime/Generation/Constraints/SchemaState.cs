using System.Text.Json;

namespace Afm.Runtime.Generation.Constraints;

/// <summary>
/// The texts that are JSON and valid against a <see cref="SchemaShape"/>, as an immutable pushdown automaton: a
/// persistent stack of goals (exact text still to write, a value of a shape to begin, the inside of a string or number,
/// a choice among literals, the rest of an array). Whitespace follows <see cref="JsonState"/>'s bound: at most
/// <see cref="JsonState.MaxWhitespace"/> characters in a row, only where a value or a punctuation mark may begin.
/// </summary>
public sealed record SchemaState : ITextAutomaton
{
    internal abstract record Goal;
    /// <summary>Exactly <c>Text[At..]</c> (punctuation and keys).</summary>
    internal sealed record Exact(string Text, int At) : Goal;
    internal sealed record Value(SchemaShape Shape) : Goal;
    /// <summary>Inside a string: Pending 0 plain, -1 after a backslash, 1-4 hex digits of a \u escape left.</summary>
    internal sealed record InString(int Pending) : Goal;
    /// <summary>Inside a number: Digits counts the digits of the integer part or of the exponent, whichever is being written.</summary>
    internal sealed record InNumber(NumberMode Mode, bool Integer, int Digits = 0) : Goal;

    /// <summary>
    /// Every number is a finite double, exact when whole: at most 15 digits before the point (2^53 has 16) and 2 in the
    /// exponent. RFC 8259's grammar has no bound, but readers do: JavaScript's JSON.parse reads 222e4999 as Infinity,
    /// which Ajv then refuses as a number (found by StructuredOutputAcceptanceTests).
    /// </summary>
    internal const int MaxIntegerDigits = 15, MaxExponentDigits = 2;
    internal sealed record OneOf(IReadOnlyList<string> Options, int At) : Goal;
    /// <summary>After '[' (First) or after an item: an item (after ',' unless first) or ']'.</summary>
    internal sealed record ArrayRest(SchemaShape Items, bool First) : Goal;

    internal enum NumberMode { Start, Minus, Zero, Integer, Dot, Fraction, Exponent, ExponentSign, ExponentDigits }

    /// <summary>
    /// The goals, top first, each node knowing what it and those below it owe (so <see cref="CharactersToComplete"/> is
    /// read, not summed, however many goals a wide schema pushes). Equality and hash walk the stack in a loop: the
    /// generated record members recurse once per goal, which a schema with thousands of properties would overflow.
    /// </summary>
    internal sealed record Stack(Goal Top, Stack? Rest)
    {
        public int Owed { get; } = Cost(Top) + (Rest?.Owed ?? 0);

        public int Count { get; } = 1 + (Rest?.Count ?? 0);

        public bool Equals(Stack? other)
        {
            for (Stack? a = this, b = other; ; a = a.Rest, b = b.Rest)
            {
                if (ReferenceEquals(a, b)) return true;
                if (a is null || b is null || a.Count != b.Count || a.Owed != b.Owed || !a.Top.Equals(b.Top)) return false;
            }
        }

        /// <summary>The top few goals and the stack's size: enough to tell states apart, in constant time.</summary>
        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(Count);
            hash.Add(Owed);
            int taken = 0;
            for (var node = this; node is not null && taken < 8; node = node.Rest, taken++) hash.Add(node.Top);
            return hash.ToHashCode();
        }
    }

    internal Stack? Goals { get; init; }
    internal int Whitespace { get; init; }

    public static SchemaState Start(SchemaShape shape) => new() { Goals = new Stack(new Value(shape), null), MaxRisePerCharacter = Math.Max(4, LongestItem(shape) + 1) };

    /// <summary>A ',' in an array owes one more item: the shortest of the longest item shape; escapes and literals owe at most 4.</summary>
    public int MaxRisePerCharacter { get; private init; }

    private static int LongestItem(SchemaShape shape) => shape switch
    {
        ArrayShape a => Math.Max(a.Items.Shortest, LongestItem(a.Items)),
        ObjectShape o => o.Properties.Count == 0 ? 0 : o.Properties.Max(p => LongestItem(p.Value)),
        _ => 0,
    };

    public bool IsComplete => Goals is null || (Goals is { Top: InNumber n, Rest: null } && Terminal(n.Mode));

    public int CharactersToComplete => Goals?.Owed ?? 0;

    /// <summary>The fewest characters <paramref name="goal"/> still owes.</summary>
    private static int Cost(Goal goal) => goal switch
    {
        Exact e => e.Text.Length - e.At,
        Value v => v.Shape.Shortest,
        InString s => s.Pending switch { 0 => 1, -1 => 2, var hex => hex + 1 },
        InNumber n => Terminal(n.Mode) ? 0 : 1,
        OneOf o => o.Options.Min(x => x.Length) - o.At,
        ArrayRest => 1,
        _ => 0,
    };

    ITextAutomaton? ITextAutomaton.Advance(char c) => Advance(c);

    public SchemaState? Advance(char c)
    {
        if (Goals is not { } goals) return null;
        bool space = c is ' ' or '\t' or '\n' or '\r';
        var rest = goals.Rest;
        switch (goals.Top)
        {
            case InString s:
                if (s.Pending == -1)
                    return c == 'u' ? Replace(new InString(4)) : "\"\\/bfnrt".Contains(c) ? Replace(new InString(0)) : null;
                if (s.Pending > 0) return Uri.IsHexDigit(c) ? Replace(new InString(s.Pending - 1)) : null;
                if (c == '"') return Pop();
                if (c == '\\') return Replace(new InString(-1));
                return c < 0x20 ? null : this;
            case InNumber n:
                return Number(n, c);
            case OneOf o:
                var matching = o.Options.Where(x => x.Length > o.At && x[o.At] == c).ToArray();
                if (matching.Length == 0) return null;
                return matching.Any(x => x.Length == o.At + 1) ? Pop() : Replace(new OneOf(matching, o.At + 1));
        }

        // Inside an exact text (a key's quotes and characters) every character is the text's own, a space included: a key
        // such as "a b" could not be written when spaces were read as whitespace between tokens here.
        if (space && goals.Top is not Exact { At: > 0 }) return Whitespace >= JsonState.MaxWhitespace ? null : this with { Whitespace = Whitespace + 1 };
        var fresh = this with { Whitespace = 0 };
        switch (goals.Top)
        {
            case Exact e:
                if (c != e.Text[e.At]) return null;
                return e.At + 1 == e.Text.Length ? fresh.Pop() : fresh.Replace(new Exact(e.Text, e.At + 1));
            case Value v:
                return (fresh with { Goals = Expand(v.Shape, rest) }).Advance(c);
            case ArrayRest a:
                if (c == ']') return fresh.Pop();
                var item = new Stack(new Value(a.Items), new Stack(new ArrayRest(a.Items, false), rest));
                return a.First ? (fresh with { Goals = item }).Advance(c) : c == ',' ? fresh with { Goals = item } : null;
            default:
                return null;
        }
    }

    /// <summary>The goals a value of <paramref name="shape"/> stands for, in front of <paramref name="rest"/>.</summary>
    private static Stack Expand(SchemaShape shape, Stack? rest)
    {
        switch (shape)
        {
            case ObjectShape o:
                var goals = new Stack(new Exact("}", 0), rest);
                for (int i = o.Properties.Count - 1; i >= 0; i--)
                {
                    goals = new Stack(new Value(o.Properties[i].Value), goals);
                    goals = new Stack(new Exact(":", 0), goals);
                    goals = new Stack(new Exact(JsonSerializer.Serialize(o.Properties[i].Key), 0), goals);
                    if (i > 0) goals = new Stack(new Exact(",", 0), goals);
                }
                return new Stack(new Exact("{", 0), goals);
            case ArrayShape a:
                return new Stack(new Exact("[", 0), new Stack(new ArrayRest(a.Items, true), rest));
            case StringShape:
                return new Stack(new Exact("\"", 0), new Stack(new InString(0), rest));
            case NumberShape n:
                return new Stack(new InNumber(NumberMode.Start, n.Integer), rest);
            case LiteralsShape l:
                return new Stack(new OneOf(l.Options, 0), rest);
            default:
                throw new InvalidOperationException($"No goals for {shape.GetType().Name}.");
        }
    }

    private SchemaState? Number(InNumber n, char c)
    {
        bool digit = char.IsAsciiDigit(c);
        NumberMode? next = n.Mode switch
        {
            NumberMode.Start => c == '-' ? NumberMode.Minus : c == '0' ? NumberMode.Zero : digit ? NumberMode.Integer : null,
            NumberMode.Minus => c == '0' ? NumberMode.Zero : digit ? NumberMode.Integer : null,
            NumberMode.Zero or NumberMode.Integer when digit && n.Mode == NumberMode.Integer => NumberMode.Integer,
            NumberMode.Zero or NumberMode.Integer when c == '.' && !n.Integer => NumberMode.Dot,
            NumberMode.Zero or NumberMode.Integer or NumberMode.Fraction when c is 'e' or 'E' && !n.Integer => NumberMode.Exponent,
            NumberMode.Dot or NumberMode.Fraction when digit => NumberMode.Fraction,
            NumberMode.Exponent when c is '+' or '-' => NumberMode.ExponentSign,
            NumberMode.Exponent or NumberMode.ExponentSign or NumberMode.ExponentDigits when digit => NumberMode.ExponentDigits,
            _ => null,
        };
        if (next is { } mode)
        {
            int digits = mode == n.Mode ? n.Digits + 1 : mode is NumberMode.Integer or NumberMode.ExponentDigits ? 1 : 0;
            if (mode == NumberMode.Integer && digits > MaxIntegerDigits || mode == NumberMode.ExponentDigits && digits > MaxExponentDigits)
                return null;
            return Replace(new InNumber(mode, n.Integer, digits));
        }
        // The number ends here when it can; the character belongs to what follows.
        return Terminal(n.Mode) ? Pop().Advance(c) : null;
    }

    private static bool Terminal(NumberMode mode) => mode is NumberMode.Zero or NumberMode.Integer or NumberMode.Fraction or NumberMode.ExponentDigits;

    private SchemaState Replace(Goal goal) => this with { Goals = new Stack(goal, Goals!.Rest) };

    private SchemaState Pop() => this with { Goals = Goals!.Rest, Whitespace = 0 };
}
