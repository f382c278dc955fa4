namespace Afm.Data.Packing;

/// <summary>A corpus after tokenization and the train/validation split. Every document ends with end-of-document.</summary>
internal sealed record TokenizedCorpus(string Name, IReadOnlyList<TokenizedDocument> Train, IReadOnlyList<TokenizedDocument> Valid,
    int DuplicatesRemoved, int ContaminatedRemoved)
{
    public long TrainTokens => Train.Sum(d => (long)d.Tokens.Length);
    public long ValidTokens => Valid.Sum(d => (long)d.Tokens.Length);
}

internal sealed record TokenizedDocument(string Id, int[] Tokens);
