using Afm.Data.Packing;

namespace Afm.Data.Tests.Packing;

public sealed class LongDocumentsTests
{
    private static TokenizedDocument Document(string id, int tokens) => new(id, Enumerable.Range(0, tokens).ToArray());

    [Fact]
    public void A_document_up_to_the_chunk_size_keeps_its_id_and_tokens()
    {
        var short_ = Document("c/a.txt", 10);
        Assert.Equal([short_], LongDocuments.Cut([short_], chunkTokens: 10));
    }

    [Fact]
    public void A_long_document_becomes_consecutive_chunks_that_hold_its_tokens_in_order()
    {
        var chunks = LongDocuments.Cut([Document("c/a.txt", 25)], chunkTokens: 10);
        Assert.Equal(["c/a.txt#0", "c/a.txt#1", "c/a.txt#2"], chunks.Select(c => c.Id));
        Assert.Equal([10, 10, 5], chunks.Select(c => c.Tokens.Length));
        Assert.Equal(Enumerable.Range(0, 25), chunks.SelectMany(c => c.Tokens));
    }

    [Fact]
    public void One_long_document_is_split_between_training_and_validation()
    {
        var (train, valid) = DocumentSplit.Split(LongDocuments.Cut([Document("plays/input.txt", 300_000)]), seed: 1234, validationFraction: 0.05);
        Assert.NotEmpty(valid);
        Assert.InRange(valid.Count, 1, train.Count / 4);
    }
}
