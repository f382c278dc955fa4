using Afm.Data.Common;

namespace Afm.Data.Packing;

/// <summary>
/// Decides which documents are held out for validation: document d goes to validation when
/// SHA-256(seed, id) mapped to [0, 1) is below the validation fraction. A document's side never depends on the
/// other documents, so adding a file does not reshuffle the split.
/// </summary>
internal static class DocumentSplit
{
    public static (List<TokenizedDocument> Train, List<TokenizedDocument> Valid) Split(
        IReadOnlyList<TokenizedDocument> documents, long seed, double validationFraction)
    {
        var scored = documents.Select(d => (Document: d, Score: StableHash.Unit("split", seed, d.Id))).ToList();
        var train = scored.Where(s => s.Score >= validationFraction).ToList();
        var valid = scored.Where(s => s.Score < validationFraction).ToList();

        // Training is never empty, and with two or more documents neither is validation: move the document
        // closest to the threshold.
        if (documents.Count >= 1 && train.Count == 0)
            Move(valid, train, valid.MaxBy(s => (s.Score, s.Document.Id))!);
        if (documents.Count >= 2 && valid.Count == 0)
            Move(train, valid, train.MinBy(s => (s.Score, s.Document.Id))!);

        return (train.Select(s => s.Document).ToList(), valid.Select(s => s.Document).ToList());
    }

    private static void Move<T>(List<T> from, List<T> to, T item)
    {
        from.Remove(item);
        to.Add(item);
    }
}
