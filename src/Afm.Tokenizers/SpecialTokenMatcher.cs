namespace Afm.Tokenizers;

/// <summary>
/// Finds special (added) tokens written literally in a text, as Hugging Face tokenizers does before anything else runs:
/// the leftmost occurrence wins, and of several starting there the longest. The text between them is ordinary text.
/// </summary>
public sealed class SpecialTokenMatcher
{
    private readonly string[] _tokens;

    public SpecialTokenMatcher(IEnumerable<string> tokens)
    {
        _tokens = tokens.Where(t => t.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
    }

    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>
    /// The text cut into ordinary pieces (<c>Token</c> -1) and special tokens (<c>Token</c> = index into <see cref="Tokens"/>),
    /// in order, covering the text exactly.
    /// </summary>
    public IEnumerable<(int Offset, int Length, int Token)> Split(string text)
    {
        if (_tokens.Length == 0)
        {
            if (text.Length > 0) yield return (0, text.Length, -1);
            yield break;
        }
        // Each token's next occurrence at or after the cursor, searched again only once the cursor passes it: one scan
        // of the text per token in all, however many occurrences there are.
        var next = new int[_tokens.Length];
        Array.Fill(next, -2);
        var start = 0;
        while (start < text.Length)
        {
            var (at, token) = (-1, -1);
            for (var t = 0; t < _tokens.Length; t++)
            {
                if (next[t] == -2 || (next[t] >= 0 && next[t] < start))
                    next[t] = text.IndexOf(_tokens[t], start, StringComparison.Ordinal);
                if (next[t] < 0) { next[t] = -1; continue; }
                if (at < 0 || next[t] < at || (next[t] == at && _tokens[t].Length > _tokens[token].Length))
                    (at, token) = (next[t], t);
            }
            if (at < 0)
            {
                yield return (start, text.Length - start, -1);
                yield break;
            }
            if (at > start)
                yield return (start, at - start, -1);
            yield return (at, _tokens[token].Length, token);
            start = at + _tokens[token].Length;
        }
    }
}
