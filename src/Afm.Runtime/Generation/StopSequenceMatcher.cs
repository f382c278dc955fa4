namespace Afm.Runtime.Generation;

/// <summary>
/// Decides how much of the generated text may be streamed: text that could still turn out to be the start of a
/// stop sequence is held back until the next tokens settle it.
/// </summary>
internal sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    /// <summary>Index of the earliest complete stop sequence in <paramref name="text"/>, or -1.</summary>
    public int FindStop(string text)
    {
        int earliest = -1;
        foreach (var stop in stops)
        {
            if (stop.Length == 0) continue;
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (earliest < 0 || at < earliest)) earliest = at;
        }
        return earliest;
    }

    /// <summary>Length of the prefix of <paramref name="text"/> that cannot be part of a stop sequence.</summary>
    public int SafeLength(string text)
    {
        int hold = 0;
        foreach (var stop in stops)
            for (int k = Math.Min(stop.Length - 1, text.Length); k > hold; k--)
                if (text.AsSpan(text.Length - k).SequenceEqual(stop.AsSpan(0, k))) { hold = k; break; }
        return text.Length - hold;
    }
}
