using Afm.Tokenizers;

namespace Afm.Data.Tokenization;

/// <summary>
/// First pass of training: how often each pre-token ("word") occurs. BPE then works on distinct words weighted
/// by count, which is what makes training fast (a 5 MB corpus has only tens of thousands of distinct words).
/// </summary>
internal static class WordCounter
{
    private const int BatchSize = 512;

    public static Dictionary<string, long> Count(
        IEnumerable<string> documents, UnicodeRegexSplitter preTokenizer, SpecialTokenMatcher specialTokens, Action<string>? progress)
    {
        var total = new Dictionary<string, long>(StringComparer.Ordinal);
        var batch = new List<string>(BatchSize);
        long documentCount = 0, characters = 0;
        foreach (var document in documents)
        {
            batch.Add(document);
            characters += document.Length;
            if (batch.Count == BatchSize)
            {
                CountBatch(batch, preTokenizer, specialTokens, total);
                documentCount += batch.Count;
                batch.Clear();
                if (documentCount % (BatchSize * 20) == 0)
                    progress?.Invoke($"pre-tokenized {documentCount} documents ({characters / 1_000_000.0:F1}M chars)");
            }
        }
        CountBatch(batch, preTokenizer, specialTokens, total);
        return total;
    }

    // Documents of a batch are counted in parallel into per-thread tables, then summed: sums do not depend on
    // the order of addition, so the result is the same for any thread count.
    private static void CountBatch(List<string> batch, UnicodeRegexSplitter preTokenizer, SpecialTokenMatcher specialTokens, Dictionary<string, long> total)
    {
        if (batch.Count == 0)
            return;
        var locals = new List<Dictionary<string, long>>();
        Parallel.ForEach(
            batch,
            () => new Dictionary<string, long>(StringComparer.Ordinal),
            (document, _, local) =>
            {
                var lookup = local.GetAlternateLookup<ReadOnlySpan<char>>();
                foreach (var segment in PreTokenization.OrdinarySegments(document, specialTokens))
                {
                    foreach (var (offset, length) in preTokenizer.Split(segment))
                    {
                        var word = segment.AsSpan(offset, length);
                        lookup[word] = lookup.TryGetValue(word, out var n) ? n + 1 : 1;
                    }
                }
                return local;
            },
            local => { lock (locals) locals.Add(local); });

        foreach (var local in locals)
        {
            foreach (var (word, n) in local)
                total[word] = total.TryGetValue(word, out var m) ? m + n : n;
        }
    }
}
