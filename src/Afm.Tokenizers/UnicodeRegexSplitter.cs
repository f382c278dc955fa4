using System.Globalization;
using System.Text.RegularExpressions;

namespace Afm.Tokenizers;

/// <summary>
/// A pre-tokenizer regex applied as Hugging Face tokenizers applies a <c>Split</c> pre-tokenizer with behavior
/// <c>Isolated</c>: every match is a piece and so is every stretch of text between matches, so no text is ever lost.
/// </summary>
/// <remarks>
/// .NET's regex engine works on UTF-16 code units, so <c>\p{L}</c> does not match a letter outside the Basic Multilingual
/// Plane (𝔘, CJK extension B): each half of its surrogate pair is category Cs. Oniguruma (Hugging Face tokenizers) and
/// llama.cpp classify whole code points. To split exactly as they do, a text with surrogate pairs is matched in a
/// stand-in form where each such pair becomes one BMP character of the same general category, and the pieces are mapped
/// back to the original offsets. Texts without surrogates (the common case) are matched as they are.
/// </remarks>
public sealed class UnicodeRegexSplitter
{
    public UnicodeRegexSplitter(string pattern)
    {
        Pattern = pattern;
        Regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
    }

    public string Pattern { get; }
    public Regex Regex { get; }

    /// <summary>The pieces of <paramref name="text"/> in order: together they cover it exactly.</summary>
    public List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int Offset, int Length)>();
        if (text.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            AddPieces(text, pieces, map: null);
            return pieces;
        }
        var (standIn, map) = StandIn(text);
        AddPieces(standIn, pieces, map);
        return pieces;
    }

    private void AddPieces(ReadOnlySpan<char> text, List<(int Offset, int Length)> pieces, int[]? map)
    {
        var at = 0;
        foreach (var match in Regex.EnumerateMatches(text))
        {
            if (match.Length == 0)
                continue; // an empty match splits nothing (Hugging Face skips them too)
            if (match.Index > at)
                Add(at, match.Index);
            Add(match.Index, match.Index + match.Length);
            at = match.Index + match.Length;
        }
        if (at < text.Length)
            Add(at, text.Length);

        void Add(int start, int end)
        {
            if (map is not null) (start, end) = (map[start], map[end]);
            pieces.Add((start, end - start));
        }
    }

    /// <summary>The text with each surrogate pair replaced by one character of the code point's category, and the map from
    /// stand-in offsets (plus the end) to original offsets.</summary>
    private static (string StandIn, int[] Map) StandIn(ReadOnlySpan<char> text)
    {
        var chars = new char[text.Length];
        var map = new int[text.Length + 1];
        var n = 0;
        for (var i = 0; i < text.Length; i++)
        {
            map[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                chars[n++] = StandInFor(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1])));
                i++;
            }
            else
            {
                chars[n++] = text[i];
            }
        }
        map[n] = text.Length;
        return (new string(chars, 0, n), map[..(n + 1)]);
    }

    // A BMP character of each general category, none of them ASCII (patterns often name ASCII characters literally).
    private static char StandInFor(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u00C0',
        UnicodeCategory.LowercaseLetter => '\u00DF',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u05D0',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.SpaceSeparator => '\u3000',
        UnicodeCategory.LineSeparator => '\u2028',
        UnicodeCategory.ParagraphSeparator => '\u2029',
        UnicodeCategory.Format => '\u00AD',
        UnicodeCategory.PrivateUse => '\uE000',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u00A7',
        UnicodeCategory.MathSymbol => '\u00B1',
        UnicodeCategory.CurrencySymbol => '\u00A2',
        UnicodeCategory.ModifierSymbol => '\u00A8',
        UnicodeCategory.OtherSymbol => '\u00A9',
        _ => '\u0378', // unassigned
    };
}
