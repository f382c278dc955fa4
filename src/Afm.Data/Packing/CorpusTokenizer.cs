using Afm.Core.Spec;
using Afm.Data.Corpora;
using Afm.Data.Tokenization;

namespace Afm.Data.Packing;

/// <summary>Reads one corpus, filters it, tokenizes its documents in parallel, and splits them into train and validation.</summary>
internal static class CorpusTokenizer
{
    public static TokenizedCorpus Tokenize(CorpusSpec corpus, DocumentFilter filter, string tokenizerDirectory, int endOfDocumentId,
        long seed, double validationFraction, int threads, Action<string>? progress)
    {
        var (documents, duplicates, contaminated) = filter.Apply(CorpusReader.Read(corpus));
        if (documents.Count == 0)
        {
            throw DataDiagnostics.Error(DataDiagnostics.CorpusEmptiedByFiltering,
                $"Every document of corpus '{corpus.Name}' was removed ({duplicates} duplicate(s) of earlier documents, {contaminated} copy/copies of eval set documents). Remove the corpus or the overlap.",
                corpus.Location ?? Afm.Core.Diagnostics.SourceLocation.FileOnly(corpus.Files.Count > 0 ? corpus.Files[0] : corpus.Name));
        }
        var tokenized = new TokenizedDocument[documents.Count];
        // Each worker loads its own tokenizer (cheap) rather than sharing one: no reliance on the library's
        // internal cache being thread-safe. Results land by index, so the output order never depends on threads.
        Parallel.For(0, documents.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) },
            () => AfmTokenizer.Load(tokenizerDirectory),
            (i, _, tokenizer) =>
            {
                var ids = tokenizer.Encode(documents[i].Text);
                var tokens = new int[ids.Count + 1];
                for (var t = 0; t < ids.Count; t++)
                    tokens[t] = ids[t];
                tokens[^1] = endOfDocumentId;
                tokenized[i] = new TokenizedDocument(documents[i].Id, tokens);
                return tokenizer;
            },
            _ => { });

        var (train, valid) = DocumentSplit.Split(tokenized, seed, validationFraction);
        var result = new TokenizedCorpus(corpus.Name, train, valid, duplicates, contaminated);
        progress?.Invoke($"corpus {corpus.Name}: {documents.Count} documents ({duplicates} duplicates and {contaminated} eval copies removed), " +
                         $"{result.TrainTokens} train + {result.ValidTokens} validation tokens");
        return result;
    }
}
