namespace Afm.Data.Packing;

/// <summary>
/// Cuts documents longer than <see cref="ChunkTokens"/> into consecutive chunks before the train/validation split,
/// so that the split, which decides per document, can hold out part of a long document.
/// </summary>
/// <remarks>
/// Why chunks rather than a held-out tail of each long document: a chunk is a document to the split, so a long
/// document is held out in proportion to ValidationFraction by the same seeded hash as every other document (no
/// second rule, no second fraction), a chunk's side never depends on the other chunks (adding text to the end of
/// a file moves no earlier chunk), and a one-file corpus of a play collection gets validation text from all over
/// the file instead of only from its last act. The price is a seam: a training sequence may run from the end of one
/// chunk into the start of a chunk from elsewhere, as it already may across documents; at 2048 tokens per chunk that
/// is one position in 2048. A document of at most <see cref="ChunkTokens"/> tokens keeps its id, so corpora of short
/// documents split exactly as before.
/// </remarks>
internal static class LongDocuments
{
    public const int ChunkTokens = 2048;

    public static List<TokenizedDocument> Cut(IReadOnlyList<TokenizedDocument> documents, int chunkTokens = ChunkTokens)
    {
        var result = new List<TokenizedDocument>(documents.Count);
        foreach (var document in documents)
        {
            if (document.Tokens.Length <= chunkTokens)
            {
                result.Add(document);
                continue;
            }
            // Only the last chunk ends with end-of-document: the text goes on across the others.
            for (int start = 0, k = 0; start < document.Tokens.Length; start += chunkTokens, k++)
                result.Add(new TokenizedDocument($"{document.Id}#{k}", document.Tokens[start..Math.Min(start + chunkTokens, document.Tokens.Length)]));
        }
        return result;
    }
}
