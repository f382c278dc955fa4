using System.Text;

namespace Afm.Evaluation.Scoring;

/// <summary>
/// ROUGE-L F-measure (Lin, 2004) on tokens as Google's rouge-score package makes them by default: lowercased, every
/// character other than a-z and 0-9 replaced by a space, split on spaces, no stemming. Precision and recall are the
/// longest common subsequence over the candidate's and the reference's token counts; F = 2PR / (P + R). Written here
/// because no ROUGE library restores from this machine's package source.
/// </summary>
public static class RougeL
{
    public static double FMeasure(string candidate, string reference)
    {
        var c = Tokens(candidate);
        var r = Tokens(reference);
        if (c.Count == 0 || r.Count == 0) return 0;
        int lcs = LongestCommonSubsequence(c, r);
        if (lcs == 0) return 0;
        double precision = (double)lcs / c.Count, recall = (double)lcs / r.Count;
        return 2 * precision * recall / (precision + recall);
    }

    public static List<string> Tokens(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var ch in text.ToLowerInvariant())
            builder.Append(ch is >= 'a' and <= 'z' or >= '0' and <= '9' ? ch : ' ');
        return builder.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    /// <summary>Dynamic programming over two rows: O(|a| |b|) time, O(|b|) memory.</summary>
    internal static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
        {
            for (int j = 1; j <= b.Count; j++)
                current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[b.Count];
    }
}
