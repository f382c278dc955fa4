using System.Globalization;
using System.Text.RegularExpressions;
using Afm.Data.Common;

namespace Afm.Data.Samples;

/// <summary>
/// Preference pairs for the notification summaries (specs/sample-data.md, specs/post-training.md): the prompt is a
/// notification as the summarize adapter reads it, "chosen" its reference summary, "rejected" a summary whose error is
/// checkable against the notification, and the level says how bad the error is:
/// significantly better: the summary of another notification; better: two facts wrong (a name, a number, a day, an
/// item or a shop replaced by another of its kind); slightly better: one fact wrong; negligibly better: every fact
/// right, the final period dropped. Half of the pairs carry single-sided grades (1 for the reference, falling with the
/// error).
/// </summary>
internal static partial class PreferenceWriter
{
    private static readonly string[] Levels = ["significantly better", "better", "slightly better", "negligibly better"];
    private static readonly double[] RejectedGrades = [0, 0.25, 0.5, 0.9];

    public static (string Prompt, string Chosen, string Rejected, string Level, double? ChosenGrade, double? RejectedGrade) Write(ref SplitMix64 random)
    {
        var (text, summary) = NotificationWriter.Write(ref random);
        int level = random.Next(4);
        string rejected = level switch
        {
            0 => Other(ref random, summary),
            1 => Corrupt(ref random, Corrupt(ref random, summary, skip: -1, out var first), skip: first, out _),
            2 => Corrupt(ref random, summary, skip: -1, out _),
            _ => summary.TrimEnd('.'),
        };
        bool graded = random.Next(2) == 0;
        return (text, summary, rejected, Levels[level], graded ? 1.0 : null, graded ? RejectedGrades[level] : null);
    }

    /// <summary>A reference summary of another notification (drawn from the same stream), never the same text.</summary>
    private static string Other(ref SplitMix64 random, string summary)
    {
        while (true)
        {
            var (_, other) = NotificationWriter.Write(ref random);
            if (other != summary) return other;
        }
    }

    /// <summary>One fact of <paramref name="summary"/> replaced by a different one of its kind; <paramref name="replaced"/> is its position.</summary>
    private static string Corrupt(ref SplitMix64 random, string summary, int skip, out int replaced)
    {
        var facts = Facts(summary).Where(f => f.Index != skip).ToList();
        var (index, length, kind) = facts[random.Next(facts.Count)];
        string old = summary.Substring(index, length);
        string replacement;
        do replacement = kind switch
        {
            FactKind.Amount => random.Between(5, 300).ToString(CultureInfo.InvariantCulture),
            FactKind.Clock => $"{random.Between(7, 20):D2}:{random.Pick(new[] { "00", "15", "30", "45" })}",
            FactKind.Name => random.Pick(Words.Names),
            FactKind.Day => random.Pick(Words.Days),
            FactKind.Item => random.Pick(Words.Items),
            _ => random.Pick(Words.Shops),
        };
        while (replacement == old);
        replaced = index;
        return summary[..index] + replacement + summary[(index + length)..];
    }

    private enum FactKind { Amount, Clock, Name, Day, Item, Shop }

    /// <summary>The checkable facts of a summary: names, days, items, shops, clock times and amounts, by position.</summary>
    private static IEnumerable<(int Index, int Length, FactKind Kind)> Facts(string summary)
    {
        foreach (var (words, kind) in new[] { (Words.Names, FactKind.Name), (Words.Days, FactKind.Day), (Words.Items, FactKind.Item), (Words.Shops, FactKind.Shop) })
            foreach (var word in words)
                for (int at = summary.IndexOf(word, StringComparison.Ordinal); at >= 0; at = summary.IndexOf(word, at + word.Length, StringComparison.Ordinal))
                    yield return (at, word.Length, kind);
        foreach (Match m in Clock().Matches(summary)) yield return (m.Index, m.Length, FactKind.Clock);
        foreach (Match m in Amount().Matches(summary)) yield return (m.Index, m.Length, FactKind.Amount);
    }

    [GeneratedRegex(@"\b\d\d:\d\d\b")]
    private static partial Regex Clock();

    /// <summary>The whole part of an amount such as 210.00 (never a clock time).</summary>
    [GeneratedRegex(@"\b\d+(?=\.\d\d\b)")]
    private static partial Regex Amount();
}
