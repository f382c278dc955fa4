using Afm.Data.Packing;

namespace Afm.Data.Tests.Packing;

public sealed class UnigramBaselineTests
{
    private sealed class InMemory(int vocabSize, params int[][] sequences) : IPackedSequences
    {
        public int SequenceLength => sequences[0].Length - 1;
        public long Count => sequences.Length;
        public int VocabSize => vocabSize;
        public void Read(long index, Span<int> destination) => sequences[index].CopyTo(destination);
    }

    [Fact]
    public void Unigram_cross_entropy_is_the_add_one_smoothed_loss_of_validation_targets()
    {
        // Training targets (positions 1..2): 1,1 and 1,2 -> counts {0:0, 1:3, 2:1}, N = 4, V = 3.
        var train = new InMemory(3, [0, 1, 1], [0, 1, 2]);
        // Validation targets: 1 and 0. p(1) = 4/7, p(0) = 1/7.
        var valid = new InMemory(3, [2, 1, 0]);
        var expected = -(Math.Log(4.0 / 7) + Math.Log(1.0 / 7)) / 2;
        Assert.Equal(expected, DataStage.UnigramCrossEntropy(train, valid), 12);
    }

    [Fact]
    public void The_first_token_of_a_sequence_is_not_a_target()
    {
        var train = new InMemory(2, [1, 0]);
        var validA = new InMemory(2, [0, 0]);
        var validB = new InMemory(2, [1, 0]);
        Assert.Equal(DataStage.UnigramCrossEntropy(train, validA), DataStage.UnigramCrossEntropy(train, validB));
    }
}
