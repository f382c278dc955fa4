using System.Text.RegularExpressions;

namespace Afm.Tokenizers;

/// <summary>
/// The split of text into words before BPE, shared by training (here) and encoding (Microsoft.ML.Tokenizers'
/// <c>RegexPreTokenizer</c> with the same pattern, stored in the tokenizer files): merges never cross a word
/// boundary, so trainer and runtime must agree on it exactly.
/// </summary>
public static class PreTokenization
{
    // GPT-2 style: contractions, an optional leading space glued to a run of letters (combining marks count as
    // letters so "e\u0301" stays one word), numbers, runs of other symbols, and whitespace (a whitespace run
    // leaves its last space to the following word).
    private const string Contractions = @"'(?:[sdmt]|ll|ve|re)";
    private const string Letters = @" ?[\p{L}\p{M}]+";
    private const string Symbols = @" ?[^\s\p{L}\p{M}\p{N}]+";
    private const string Whitespace = @"\s+(?!\S)|\s+";

    /// <summary>With split digits a digit is a word on its own (not even a leading space joins it).</summary>
    public static string Pattern(bool splitDigits) =>
        string.Join('|', Contractions, Letters, splitDigits ? @"\p{N}" : @" ?\p{N}+", Symbols, Whitespace);

    public static Regex CreateRegex(string pattern) =>
        new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>
    /// Cuts <paramref name="text"/> at occurrences of special tokens and yields the ordinary pieces in between:
    /// special tokens in training text are not learned from.
    /// </summary>
    public static IEnumerable<string> OrdinarySegments(string text, IReadOnlyList<string> specialTokens)
    {
        var start = 0;
        while (start < text.Length)
        {
            var (at, length) = FindFirst(text, start, specialTokens);
            if (at < 0)
            {
                yield return start == 0 ? text : text[start..];
                yield break;
            }
            if (at > start)
                yield return text[start..at];
            start = at + length;
        }
    }

    private static (int At, int Length) FindFirst(string text, int start, IReadOnlyList<string> specialTokens)
    {
        var best = (-1, 0);
        foreach (var token in specialTokens)
        {
            var at = text.IndexOf(token, start, StringComparison.Ordinal);
            if (at >= 0 && (best.Item1 < 0 || at < best.Item1 || (at == best.Item1 && token.Length > best.Item2)))
                best = (at, token.Length);
        }
        return best;
    }
}
