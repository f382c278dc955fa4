using System.Text;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Corpora;
using Afm.Data.Packing;
using Afm.Data.Reporting;
using Afm.Tokenizers;

namespace Afm.Data.Cleaning;

/// <summary>
/// Reads every corpus, tokenizes every document (so the report can count the tokens each filter removes),
/// then filters across all corpora in spec order: exact duplicates, near-duplicates, decontamination.
/// Each filter keeps the first of a group, so the result depends only on the spec, never on threads.
/// </summary>
internal static class CleaningPipeline
{
    public const string Read = "read";
    public const string ExactDuplicatesStep = "exact-duplicates";
    public const string NearDuplicatesStep = "near-duplicates";
    public const string DecontaminationStep = "decontamination";
    public const int ExamplesPerFilter = 5;

    private sealed record Candidate(int Corpus, Document Document, int[] Tokens, long Bytes, UInt128 Key, ulong[] Words);

    public static CleaningResult Run(ModelSpec spec, string tokenizerDirectory, int endOfDocumentId, Action<string>? progress)
    {
        var documents = spec.Corpora.SelectMany((c, i) => CorpusReader.Read(c).Select(d => (Corpus: i, Document: d))).ToList();
        var candidates = Prepare(documents, tokenizerDirectory, endOfDocumentId, spec.Threads);
        progress?.Invoke($"data: read {candidates.Length} documents from {spec.Corpora.Count} corpus/corpora");

        var alive = Enumerable.Range(0, candidates.Length).ToList();
        var steps = new List<(string Step, List<int> Alive)> { (Read, alive) };
        var filters = new List<(string Name, List<(int Index, string Reason)> Removed)>();

        void Apply(string name, List<(int Index, string Reason)> removedAt)
        {
            // removedAt holds positions in the current `alive` list; translate to candidate indices.
            var removed = removedAt.Select(r => (alive[r.Index], r.Reason)).ToList();
            var gone = removed.Select(r => r.Item1).ToHashSet();
            alive = alive.Where(i => !gone.Contains(i)).ToList();
            steps.Add((name, alive));
            filters.Add((name, removed));
            progress?.Invoke($"data: {name} removed {removed.Count} documents");
        }

        Apply(ExactDuplicatesStep, ExactDuplicates.Find(alive.Select(i => candidates[i].Key).ToList())
            .Select(r => (r.Removed, $"same text as {candidates[alive[r.Of]].Document.Id}")).ToList());

        var thresholds = spec.Corpora.Select(c => c.NearDuplicateThreshold).ToList();
        Apply(NearDuplicatesStep, NearDuplicates.Find(alive.Select(i => candidates[i].Words).ToList(),
                alive.Select(i => thresholds[candidates[i].Corpus]).ToList(), spec.Threads)
            .Select(r => (r.Removed, $"similar to {candidates[alive[r.Of]].Document.Id} (estimated Jaccard {r.Similarity:F2})")).ToList());

        var decontamination = new NGramDecontamination(spec.EvalSets);
        Apply(DecontaminationStep, decontamination.Find(alive.Select(i => (candidates[i].Key, candidates[i].Words)).ToList(), spec.Threads));

        ThrowIfAnyCorpusEmptied(spec, candidates, steps, alive);
        return new CleaningResult(
            spec.Corpora.Select((_, c) => (IReadOnlyList<TokenizedDocument>)alive.Where(i => candidates[i].Corpus == c)
                .Select(i => new TokenizedDocument(candidates[i].Document.Id, candidates[i].Tokens)).ToList()).ToList(),
            spec.Corpora.Select((corpus, c) => (IReadOnlyList<CorpusStep>)steps
                .Select(s => new CorpusStep(s.Step, Sum(candidates, s.Alive.Where(i => candidates[i].Corpus == c)))).ToList()).ToList(),
            filters.Select(f => Report(spec, candidates, f.Name, f.Removed)).ToList(),
            new NearDuplicateSettings(MinHash.ShingleWords, MinHash.Permutations,
                thresholds.Distinct().Order().Select(t => MinHash.Banding(t) is var b ? new Banding(t, b.Bands, b.Rows) : null!).ToList()),
            decontamination.Sets,
            spec.Corpora.Select((_, c) => alive.Where(i => candidates[i].Corpus == c).Sum(i => candidates[i].Bytes)).ToList());
    }

    private static Candidate[] Prepare(List<(int Corpus, Document Document)> documents, string tokenizerDirectory, int endOfDocumentId, int threads)
    {
        var candidates = new Candidate[documents.Count];
        // Each worker loads its own tokenizer (cheap) rather than sharing one: no reliance on the library's
        // internal cache being thread-safe. Results land by index, so the output order never depends on threads.
        Parallel.For(0, documents.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) },
            () => AfmTokenizer.Load(tokenizerDirectory),
            (i, _, tokenizer) =>
            {
                var (corpus, document) = documents[i];
                var ids = tokenizer.Encode(document.Text);
                var tokens = new int[ids.Count + 1];
                for (var t = 0; t < ids.Count; t++) tokens[t] = ids[t];
                tokens[^1] = endOfDocumentId;
                candidates[i] = new Candidate(corpus, document, tokens, Encoding.UTF8.GetByteCount(document.Text),
                    ExactDuplicates.Key(document.Text), WordHashes.Of(document.Text));
                return tokenizer;
            },
            _ => { });
        return candidates;
    }

    private static Amount Sum(Candidate[] candidates, IEnumerable<int> indices)
    {
        long documents = 0, tokens = 0, bytes = 0;
        foreach (var i in indices)
        {
            documents++;
            tokens += candidates[i].Tokens.Length;
            bytes += candidates[i].Bytes;
        }
        return new Amount(documents, tokens, bytes);
    }

    private static FilterReport Report(ModelSpec spec, Candidate[] candidates, string name, List<(int Index, string Reason)> removed) => new(
        name,
        removed.Count,
        removed.Sum(r => (long)candidates[r.Index].Tokens.Length),
        spec.Corpora.Select((corpus, c) =>
        {
            var mine = removed.Where(r => candidates[r.Index].Corpus == c).ToList();
            return new CorpusRemoval(corpus.Name, mine.Count, mine.Sum(r => (long)candidates[r.Index].Tokens.Length));
        }).ToList(),
        removed.Take(ExamplesPerFilter).Select(r => new RemovedExample(candidates[r.Index].Document.Id, r.Reason)).ToList());

    private static void ThrowIfAnyCorpusEmptied(ModelSpec spec, Candidate[] candidates, List<(string Step, List<int> Alive)> steps, List<int> alive)
    {
        for (var c = 0; c < spec.Corpora.Count; c++)
        {
            if (alive.Any(i => candidates[i].Corpus == c)) continue;
            var corpus = spec.Corpora[c];
            var counts = steps.Zip(steps.Skip(1), (before, after) =>
                $"{before.Alive.Count(i => candidates[i].Corpus == c) - after.Alive.Count(i => candidates[i].Corpus == c)} by {after.Step}");
            throw DataDiagnostics.Error(DataDiagnostics.CorpusEmptiedByFiltering,
                $"Every document of corpus '{corpus.Name}' was removed ({string.Join(", ", counts)}). Remove the corpus or the overlap, "
                + "or loosen the filters: a higher NearDuplicateThreshold on the Corpus, a longer DecontaminationNGrams or a lower CommonNGramThreshold on the EvalSet.",
                corpus.Location ?? SourceLocation.FileOnly(corpus.Files.Count > 0 ? corpus.Files[0] : corpus.Name));
        }
    }
}

/// <param name="Kept">Kept documents of each corpus (spec order), tokenized, each ending with end-of-document.</param>
/// <param name="KeptBytes">UTF-8 bytes of each corpus's kept documents.</param>
internal sealed record CleaningResult(
    IReadOnlyList<IReadOnlyList<TokenizedDocument>> Kept,
    IReadOnlyList<IReadOnlyList<CorpusStep>> Steps,
    IReadOnlyList<FilterReport> Filters,
    NearDuplicateSettings NearDuplicates,
    IReadOnlyList<EvalSetSummary> EvalSets,
    IReadOnlyList<long> KeptBytes);
