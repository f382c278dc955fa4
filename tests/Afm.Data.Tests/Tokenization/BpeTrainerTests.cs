using Afm.Data.Tokenization;

namespace Afm.Data.Tests.Tokenization;

public sealed class BpeTrainerTests
{
    private static readonly BpeTrainingOptions Options = new(400, SplitDigits: true, ByteFallback: true, []);

    [Fact]
    public void Training_twice_on_the_same_text_writes_byte_identical_files()
    {
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        BpeTrainer.Train(TokenizerFixture.TrainingText(), Options).Save(first.Path);
        BpeTrainer.Train(TokenizerFixture.TrainingText(), Options).Save(second.Path);

        var names = Directory.GetFiles(first.Path).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["merges.txt", "tokenizer.json", "vocab.json"], names);
        foreach (var name in names)
            Assert.Equal(File.ReadAllBytes(first.Combine(name!)), File.ReadAllBytes(second.Combine(name!)));
    }

    [Theory]
    [InlineData(257)]
    [InlineData(300)]
    [InlineData(350)]
    public void The_vocabulary_has_exactly_the_requested_size_and_learns_every_token_when_the_text_allows(int vocabSize)
    {
        var vocabulary = BpeTrainer.Train(TokenizerFixture.TrainingText(), Options with { VocabSize = vocabSize });
        Assert.Equal(vocabSize, vocabulary.VocabSize);
        Assert.Equal(0, vocabulary.ReservedCount);
    }

    [Fact]
    public void A_text_too_small_for_the_requested_size_is_padded_with_reserved_tokens()
    {
        var vocabulary = BpeTrainer.Train(["abab"], Options);
        Assert.Equal(Options.VocabSize, vocabulary.VocabSize);
        Assert.Equal(1 + 256 + vocabulary.MergeCount, vocabulary.LearnedVocabSize);
        Assert.Equal("<|reserved_0|>", vocabulary.Spelling(vocabulary.LearnedVocabSize));
        Assert.Equal(Options.VocabSize - vocabulary.LearnedVocabSize, vocabulary.ReservedCount);
    }

    [Fact]
    public void A_vocabulary_too_small_for_the_bytes_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTrainer.Train(["a"], Options with { VocabSize = 200 }));
    }

    [Fact]
    public void Special_tokens_come_first_then_the_bytes()
    {
        var vocabulary = BpeTrainer.Train(["hello"], Options with { SpecialTokens = ["<|pad|>", "<|endoftext|>"] });
        Assert.Equal(["<|endoftext|>", "<|pad|>"], vocabulary.SpecialTokens);
        Assert.Equal("<|pad|>", vocabulary.Spelling(1));
        Assert.Equal("A", vocabulary.Spelling(2 + 'A'));
        Assert.Equal("Ġ", vocabulary.Spelling(2 + ' ')); // GPT-2's byte-level spelling of a space
    }

    [Fact]
    public void The_most_frequent_pair_is_merged_first()
    {
        var vocabulary = BpeTrainer.Train(["xyxyxy ab"], Options with { VocabSize = 258 });
        Assert.Equal("xy", vocabulary.Spelling(257));
    }

    [Fact]
    public void Special_tokens_in_training_text_are_not_learned_from()
    {
        var text = string.Concat(Enumerable.Repeat("<|endoftext|>", 50)) + "ab";
        var vocabulary = BpeTrainer.Train([text], Options with { VocabSize = 258 });
        Assert.Equal("ab", vocabulary.Spelling(257));
    }
}
