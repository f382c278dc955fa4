using System.Text;
using Afm.Data.Tokenization;
using Afm.Tokenizers;

namespace Afm.Data.Tests.Tokenization;

public sealed class AfmTokenizerTests(TokenizerFixture fixture) : IClassFixture<TokenizerFixture>
{
    private AfmTokenizer Tokenizer => fixture.Tokenizer;

    [Theory]
    [InlineData("Mira walked to the harbor.")]
    [InlineData("")]
    [InlineData("emoji 🙂🚀👩‍👩‍👧 and flags 🇫🇷")]
    [InlineData("中文字符 日本語 한국어")]
    [InlineData("combining e\u0301 a\u0308\u0323 and ZWJ \u200D")]
    [InlineData("controls \u0000\u0001\u007F\t\r\n  trailing   ")]
    [InlineData("never-seen bytes: ÿ þ \U0001F9EC 𝔘𝔫𝔦𝔠𝔬𝔡𝔢")]
    public void Encoding_then_decoding_returns_the_original_text(string text)
    {
        Assert.Equal(text, Tokenizer.Decode(Tokenizer.Encode(text)));
    }

    [Fact]
    public void Random_unicode_strings_round_trip()
    {
        var random = new Random(7); // only picks test inputs; the code under test never sees it
        for (var i = 0; i < 300; i++)
        {
            var text = RandomUnicode(random, random.Next(0, 40));
            Assert.Equal(text, Tokenizer.Decode(Tokenizer.Encode(text)));
        }
    }

    [Fact]
    public void Every_digit_is_a_token_of_its_own_when_digits_are_split()
    {
        var ids = Tokenizer.Encode("found 1234 stones at 12 o'clock, x9y 007");
        var digitTokens = ids.Select(id => Tokenizer.Decode([id])).Where(t => t.Any(char.IsAsciiDigit)).ToList();
        Assert.NotEmpty(digitTokens);
        Assert.All(digitTokens, t => Assert.True(t.Length == 1, $"token '{t}' holds a digit and something else"));
    }

    [Fact]
    public void Learned_merges_shorten_familiar_text()
    {
        var text = "Mira walked to the harbor and found shiny stones.";
        Assert.True(Tokenizer.Encode(text).Count < Encoding.UTF8.GetByteCount(text) / 2);
    }

    [Fact]
    public void The_end_of_document_token_has_id_zero_and_decodes_to_its_text()
    {
        Assert.Equal(0, Tokenizer.EndOfDocumentId);
        Assert.Equal(BpeTrainingOptions.EndOfDocument, Tokenizer.Decode([Tokenizer.EndOfDocumentId]));
    }

    [Fact]
    public void Every_id_the_tokenizer_emits_is_below_the_vocabulary_size()
    {
        var ids = Tokenizer.Encode("Ünïcödé 🙂 " + string.Concat(TokenizerFixture.TrainingText().Take(5)));
        Assert.All(ids, id => Assert.InRange(id, 0, Tokenizer.VocabSize - 1));
    }

    private static string RandomUnicode(Random random, int length)
    {
        var builder = new StringBuilder();
        while (builder.Length < length)
        {
            var codePoint = random.Next(6) switch
            {
                0 => random.Next(0x20, 0x7F),
                1 => random.Next(0x00, 0x20),
                2 => random.Next(0x0300, 0x0370), // combining marks
                3 => random.Next(0x4E00, 0x9FFF), // CJK
                4 => random.Next(0x1F300, 0x1FAFF), // emoji
                _ => random.Next(0x80, 0x10FFFF),
            };
            if (codePoint is >= 0xD800 and <= 0xDFFF)
                continue; // lone surrogates are not text
            builder.Append(char.ConvertFromUtf32(codePoint));
        }
        return builder.ToString();
    }
}
