using System.Text;
using Afm.Data.Tokenization;
using Afm.Tokenizers;

namespace Afm.Data.Tests.Tokenization;

/// <summary>
/// Properties over many random inputs (fixed seeds, so a failure reproduces): lossless round-trip of any valid
/// Unicode text with and without split digits, and ASCII digits always single tokens when digits are split.
/// </summary>
public sealed class TokenizerPropertyTests(TokenizerFixture fixture) : IClassFixture<TokenizerFixture>
{
    private static readonly Lazy<(AfmTokenizer Tokenizer, TempDirectory Directory)> Unsplit = new(() =>
    {
        var directory = new TempDirectory();
        BpeTrainer.Train(TokenizerFixture.TrainingText(), new BpeTrainingOptions(600, SplitDigits: false, ByteFallback: true, [])).Save(directory.Path);
        return (AfmTokenizer.Load(directory.Path), directory);
    });

    [Fact]
    public void Any_random_unicode_text_round_trips_with_split_digits()
    {
        var random = new Random(11);
        for (var i = 0; i < 2000; i++)
        {
            var text = RandomText(random, random.Next(0, 120));
            Assert.Equal(text, fixture.Tokenizer.Decode(fixture.Tokenizer.Encode(text)));
        }
    }

    [Fact]
    public void Any_random_unicode_text_round_trips_without_split_digits()
    {
        var tokenizer = Unsplit.Value.Tokenizer;
        var random = new Random(12);
        for (var i = 0; i < 1000; i++)
        {
            var text = RandomText(random, random.Next(0, 120));
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    [Fact]
    public void Encoding_never_emits_a_reserved_padding_id()
    {
        var learned = fixture.Vocabulary.LearnedVocabSize;
        Assert.True(fixture.Vocabulary.ReservedCount > 0, "the fixture should be padded for this test to mean something");
        var random = new Random(13);
        for (var i = 0; i < 500; i++)
            Assert.All(fixture.Tokenizer.Encode(RandomText(random, 80)), id => Assert.InRange(id, 0, learned - 1));
    }

    [Fact]
    public void Every_ascii_digit_is_exactly_one_token_when_digits_are_split()
    {
        var random = new Random(14);
        for (var i = 0; i < 1000; i++)
        {
            var text = RandomText(random, random.Next(1, 80), digitHeavy: true);
            var ids = fixture.Tokenizer.Encode(text);
            var pieces = ids.Select(id => fixture.Tokenizer.Decode([id])).ToList();
            var digitPieces = pieces.Where(p => p.Any(char.IsAsciiDigit)).ToList();
            Assert.All(digitPieces, p => Assert.True(p.Length == 1, $"token '{p}' of \"{text}\" holds a digit and more"));
            Assert.Equal(text.Count(char.IsAsciiDigit), digitPieces.Count);
        }
    }

    [Fact]
    public void Without_split_digits_numbers_the_corpus_repeats_merge_into_fewer_tokens()
    {
        // The contrast that shows SplitDigits is what keeps digits apart: "until 12" is frequent in the training text.
        var split = fixture.Tokenizer.Encode("until 12 o'clock").Count;
        var merged = Unsplit.Value.Tokenizer.Encode("until 12 o'clock").Count;
        Assert.True(merged < split, $"{merged} tokens without split digits vs {split} with");
    }

    /// <summary>Random valid text: ASCII, controls, whitespace runs, digits, combining marks, CJK, emoji (surrogate pairs), anything else.</summary>
    private static string RandomText(Random random, int length, bool digitHeavy = false)
    {
        var builder = new StringBuilder();
        while (builder.Length < length)
        {
            var kind = random.Next(digitHeavy ? 10 : 9);
            var codePoint = kind switch
            {
                0 or 1 => random.Next(0x20, 0x7F),
                2 => " \t\n\r\u00A0\u2003"[random.Next(6)],
                3 => random.Next(0x00, 0x20),
                4 => random.Next(0x0300, 0x0370), // combining marks
                5 => random.Next(0x4E00, 0x9FFF), // CJK
                6 => random.Next(0x1F300, 0x1FAFF), // emoji: surrogate pairs in UTF-16
                7 => "0123456789٠١٢३४"[random.Next(15)], // ASCII, Arabic-Indic and Devanagari digits
                8 => random.Next(0x80, 0x10FFFF),
                _ => '0' + random.Next(10),
            };
            if (codePoint is >= 0xD800 and <= 0xDFFF)
                continue; // lone surrogates are not text
            builder.Append(char.ConvertFromUtf32(codePoint));
        }
        return builder.ToString();
    }
}
