using Afm.Data.Packing;

namespace Afm.Data.Tests.Packing;

public sealed class DocumentSplitTests
{
    private static List<TokenizedDocument> Documents(int count) =>
        Enumerable.Range(0, count).Select(i => new TokenizedDocument($"c/f.jsonl:{i + 1}", [i, 0])).ToList();

    [Fact]
    public void About_the_validation_fraction_of_documents_is_held_out()
    {
        var (train, valid) = DocumentSplit.Split(Documents(2000), seed: 1, validationFraction: 0.1);
        Assert.Equal(2000, train.Count + valid.Count);
        Assert.InRange(valid.Count, 150, 250);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void With_two_documents_both_train_and_validation_get_one(double fraction)
    {
        var (train, valid) = DocumentSplit.Split(Documents(2), seed: 1, validationFraction: fraction);
        Assert.Single(train);
        Assert.Single(valid);
    }

    [Fact]
    public void A_single_document_is_used_for_training()
    {
        var (train, valid) = DocumentSplit.Split(Documents(1), seed: 1, validationFraction: 0.5);
        Assert.Single(train);
        Assert.Empty(valid);
    }

    [Fact]
    public void Adding_documents_does_not_move_existing_ones_between_sides()
    {
        var (_, before) = DocumentSplit.Split(Documents(300), seed: 5, validationFraction: 0.2);
        var (_, after) = DocumentSplit.Split(Documents(600), seed: 5, validationFraction: 0.2);
        Assert.Subset(after.Select(d => d.Id).ToHashSet(), before.Select(d => d.Id).ToHashSet());
    }

    [Fact]
    public void The_seed_changes_the_split()
    {
        var (_, a) = DocumentSplit.Split(Documents(300), seed: 1, validationFraction: 0.2);
        var (_, b) = DocumentSplit.Split(Documents(300), seed: 2, validationFraction: 0.2);
        Assert.NotEqual(a.Select(d => d.Id), b.Select(d => d.Id));
    }
}
