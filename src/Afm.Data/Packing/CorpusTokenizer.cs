using Afm.Core.Spec;
using Afm.Data.Corpora;
using Afm.Data.Tokenization;

namespace Afm.Data.Packing;

/// <summary>Reads one corpus, tokenizes its documents in parallel, and splits them into train and validation.</summary>
internal static class CorpusTokenizer
{
    public static TokenizedCorpus Tokenize(CorpusSpec corpus, string tokenizerDirectory, int endOfDocumentId,
        long seed, double validationFraction, Action<string>? progress)
    {
        var documents = CorpusReader.Read(corpus).ToList();
        var tokenized = new TokenizedDocument[documents.Count];
        // Each worker loads its own tokenizer (cheap) rather than sharing one: no reliance on the library's
        // internal cache being thread-safe. Results land by index, so the output order never depends on threads.
        Parallel.For(0, documents.Count,
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
        var result = new TokenizedCorpus(corpus.Name, train, valid);
        progress?.Invoke($"corpus {corpus.Name}: {documents.Count} documents, {result.TrainTokens} train + {result.ValidTokens} validation tokens");
        return result;
    }
}
