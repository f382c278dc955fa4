using Afm.Core.Spec;
using Afm.Data.Corpora;

namespace Afm.Data.Cleaning;

/// <summary>
/// Decontamination against the eval sets marked Decontaminate, after the AFM report: a training document is
/// dropped when it contains a word n-gram (n in the set's DecontaminationNGrams range, 4-13 by default) that also
/// occurs in the eval set, unless that n-gram is common usage: found in more than CommonNGramThreshold (1000)
/// of the training documents being filtered (all corpora, after deduplication). A document that is a copy of an
/// eval document (exact key) is dropped whatever its length.
/// </summary>
/// <remarks>
/// Counting documents (not occurrences) keeps one long repetitive document from making an n-gram "common".
/// Every n of the range is checked, not only the shortest: a rare 13-gram is contamination even when each of
/// its 4-grams is common.
/// </remarks>
internal sealed class NGramDecontamination
{
    private readonly List<EvalSetSpec> _sets;
    private readonly List<Document> _evalDocuments = new();
    private readonly Dictionary<UInt128, int> _evalCopies = new();
    private readonly Dictionary<ulong, int> _gramByHash = new();
    private readonly List<(int Set, int Document, int Start, int N)> _grams = new();
    private readonly int _maxN;

    public NGramDecontamination(IEnumerable<EvalSetSpec> evalSets)
    {
        _sets = evalSets.Where(e => e.Decontaminate).ToList();
        for (var s = 0; s < _sets.Count; s++)
        {
            var set = _sets[s];
            var grams = 0;
            foreach (var document in CorpusReader.Read(set))
            {
                var d = _evalDocuments.Count;
                _evalDocuments.Add(document);
                _evalCopies.TryAdd(ExactDuplicates.Key(document.Text), d);
                var words = WordHashes.Of(document.Text);
                for (var i = 0; i < words.Length; i++)
                {
                    ulong hash = 0;
                    for (var n = 1; n <= set.DecontaminationMaxN && i + n <= words.Length; n++)
                    {
                        hash = WordHashes.Extend(hash, words[i + n - 1]);
                        if (n >= set.DecontaminationMinN && _gramByHash.TryAdd(hash, _grams.Count))
                        {
                            _grams.Add((s, d, i, n));
                            grams++;
                        }
                    }
                }
            }
            Sets.Add(new EvalSetSummary(set.Name, set.DecontaminationMinN, set.DecontaminationMaxN, set.CommonNGramThreshold,
                _evalDocuments.Count - Sets.Sum(x => x.Documents), grams));
            _maxN = Math.Max(_maxN, set.DecontaminationMaxN);
        }
    }

    public List<EvalSetSummary> Sets { get; } = new();

    public List<(int Removed, string Reason)> Find(IReadOnlyList<(UInt128 Key, ulong[] Words)> documents, int threads)
    {
        var removed = new List<(int, string)>();
        if (_sets.Count == 0) return removed;

        var found = new int[documents.Count][];
        Parallel.For(0, documents.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) },
            i => found[i] = Match(documents[i].Words));
        var frequency = new int[_grams.Count];
        foreach (var grams in found)
            foreach (var g in grams) frequency[g]++;

        for (var i = 0; i < documents.Count; i++)
        {
            if (_evalCopies.TryGetValue(documents[i].Key, out var copy))
            {
                removed.Add((i, $"copy of {_evalDocuments[copy].Id}"));
                continue;
            }
            // The example shown is the rarest shared n-gram, then the longest: the most telling one.
            var rare = found[i].Where(g => frequency[g] <= _sets[_grams[g].Set].CommonNGramThreshold)
                .OrderBy(g => frequency[g]).ThenByDescending(g => _grams[g].N).ThenBy(g => g).Take(1).ToList();
            if (rare.Count == 1)
                removed.Add((i, Describe(rare[0], frequency[rare[0]])));
        }
        return removed;
    }

    /// <summary>Distinct eval n-grams in a document, as indices into the n-gram table, ascending.</summary>
    private int[] Match(ulong[] words)
    {
        var matched = new SortedSet<int>();
        for (var i = 0; i < words.Length; i++)
        {
            ulong hash = 0;
            for (var n = 1; n <= _maxN && i + n <= words.Length; n++)
            {
                hash = WordHashes.Extend(hash, words[i + n - 1]);
                if (_gramByHash.TryGetValue(hash, out var g) && _grams[g].N == n) matched.Add(g);
            }
        }
        return matched.ToArray();
    }

    private string Describe(int gram, int documents)
    {
        var (_, d, start, n) = _grams[gram];
        var words = WordHashes.Words(_evalDocuments[d].Text).Skip(start).Take(n);
        return $"shares the {n}-gram \"{string.Join(' ', words)}\" (in {documents} training document(s)) with {_evalDocuments[d].Id}";
    }
}

/// <param name="NGrams">Distinct n-grams of the set that decontamination looks for.</param>
public sealed record EvalSetSummary(string Name, int MinN, int MaxN, int CommonNGramThreshold, int Documents, int NGrams);
