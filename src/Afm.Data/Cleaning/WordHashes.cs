using System.Globalization;

namespace Afm.Data.Cleaning;

/// <summary>
/// The words that near-duplicate detection and decontamination compare: maximal runs of letters, marks and
/// digits, lower-cased (invariant culture); punctuation and whitespace only separate words. Each word becomes a
/// 64-bit hash (FNV-1a over its UTF-16 code units, then a SplitMix64 finalizer), the same on every machine.
/// </summary>
/// <remarks>
/// Word-level rather than token-level: the result does not depend on the tokenizer, so changing VocabSize does
/// not change which documents are dropped, and "one word changed" means the same thing to a reader.
/// </remarks>
internal static class WordHashes
{
    public static ulong[] Of(string text)
    {
        var hashes = new List<ulong>();
        var inWord = false;
        ulong hash = 0;
        foreach (var c in text)
        {
            if (IsWordChar(c))
            {
                if (!inWord) hash = 14695981039346656037UL;
                inWord = true;
                hash = (hash ^ char.ToLowerInvariant(c)) * 1099511628211UL;
            }
            else if (inWord)
            {
                hashes.Add(Mix(hash));
                inWord = false;
            }
        }
        if (inWord) hashes.Add(Mix(hash));
        return hashes.ToArray();
    }

    /// <summary>The words themselves (same rule as <see cref="Of"/>), for examples in reports.</summary>
    public static List<string> Words(string text)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var word = i < text.Length && IsWordChar(text[i]);
            if (word && start < 0) start = i;
            else if (!word && start >= 0)
            {
                words.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }
        return words;
    }

    // Surrogates count as word characters so that letters outside the BMP (and emoji) are not dropped.
    private static bool IsWordChar(char c) => char.IsSurrogate(c) || CharUnicodeInfo.GetUnicodeCategory(c) is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
        or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber
        or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    /// <summary>SplitMix64's finalizer: a bijection that spreads every input bit over the whole word.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Extends the hash of words [i, i + n) by the next word; starting from 0 gives distinct hashes per length.</summary>
    public static ulong Extend(ulong hash, ulong word) => Mix(hash * 0x9E3779B97F4A7C15UL + word + 1);
}
