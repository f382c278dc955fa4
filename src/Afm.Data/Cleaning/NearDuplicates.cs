namespace Afm.Data.Cleaning;

/// <summary>
/// Fuzzy deduplication: MinHash signatures with LSH banding find candidate pairs, and a candidate whose
/// estimated Jaccard similarity reaches the threshold of the later document's corpus is a near-duplicate.
/// Documents are visited in pipeline order (corpora in spec order, documents in reading order) and each is
/// compared with the documents kept so far only, so the first of a cluster survives and the result is the same
/// for any thread count (signatures are computed in parallel, decisions sequentially).
/// </summary>
internal static class NearDuplicates
{
    /// <returns>For each removed document (index into <paramref name="documents"/>), the kept document it resembles and the estimated similarity.</returns>
    public static List<(int Removed, int Of, double Similarity)> Find(IReadOnlyList<ulong[]> documents, IReadOnlyList<double> thresholds, int threads)
    {
        var signatures = new uint[]?[documents.Count];
        Parallel.For(0, documents.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) },
            i => signatures[i] = MinHash.Signature(documents[i]));

        // One banding per distinct threshold; a document is indexed under every banding in use so that each
        // threshold's lookups find it.
        var bandings = thresholds.Distinct().Order().ToDictionary(t => t, MinHash.Banding);
        var buckets = bandings.ToDictionary(b => b.Key, _ => new Dictionary<ulong, List<int>>());
        var removed = new List<(int, int, double)>();
        var candidates = new SortedSet<int>();
        for (var i = 0; i < documents.Count; i++)
        {
            if (signatures[i] is not { } signature) continue;
            var threshold = thresholds[i];
            candidates.Clear();
            foreach (var key in BandKeys(signature, bandings[threshold]))
                if (buckets[threshold].TryGetValue(key, out var list)) candidates.UnionWith(list);

            var match = -1;
            var similarity = 0.0;
            foreach (var candidate in candidates)
            {
                similarity = MinHash.Similarity(signature, signatures[candidate]!);
                if (similarity >= threshold) { match = candidate; break; }
            }
            if (match >= 0)
            {
                removed.Add((i, match, similarity));
                signatures[i] = null; // dropped: never a candidate for later documents
                continue;
            }
            foreach (var (t, banding) in bandings)
            foreach (var key in BandKeys(signature, banding))
            {
                if (!buckets[t].TryGetValue(key, out var list)) buckets[t][key] = list = new List<int>();
                list.Add(i);
            }
        }
        return removed;
    }

    private static IEnumerable<ulong> BandKeys(uint[] signature, (int Bands, int Rows) banding)
    {
        for (var band = 0; band < banding.Bands; band++)
        {
            var key = WordHashes.Mix((ulong)band + 1);
            for (var r = 0; r < banding.Rows; r++)
                key = WordHashes.Extend(key, signature[band * banding.Rows + r]);
            yield return key;
        }
    }
}
