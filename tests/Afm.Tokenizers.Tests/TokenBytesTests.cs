using System.Text;
using Afm.Core.Diagnostics;

namespace Afm.Tokenizers.Tests;

/// <summary>
/// A token's bytes (what the OpenAI API's logprobs report): laid end to end over an encoding they are the text's UTF-8,
/// even where a token holds only part of a character (emoji and CJK through byte fallback or byte-level pieces).
/// </summary>
public sealed class TokenBytesTests
{
    private static readonly SourceLocation BaseModel = new("model.afmproj", 7, 5);

    private static byte[] Concatenated(AfmTokenizer tokenizer, IEnumerable<int> ids) => ids.SelectMany(tokenizer.TokenBytes).ToArray();

    [Fact]
    public void Byte_level_token_bytes_concatenate_to_the_texts_UTF8()
    {
        using var folder = new TempDirectory();
        folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style());
        folder.Write("tokenizer_config.json", HandWrittenTokenizers.Qwen2Config());
        var tokenizer = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);
        foreach (var text in new[] { TestTexts.Mixed, "héllo 中文 😀 12345", TestTexts.Random(3, 200) })
            Assert.Equal(Encoding.UTF8.GetBytes(text.Normalize(NormalizationForm.FormC)), Concatenated(tokenizer, tokenizer.Encode(text))); // Qwen2 normalizes to NFC
        // An added token stands for its content.
        var special = tokenizer.AddedTokens.First(t => t.Special);
        Assert.Equal(Encoding.UTF8.GetBytes(special.Content), tokenizer.TokenBytes(special.Id));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SentencePiece_token_bytes_are_the_pieces_with_spaces_and_byte_fallback(bool metaspace)
    {
        using var folder = new TempDirectory();
        folder.Write("tokenizer.json", HandWrittenTokenizers.LlamaStyle(metaspace));
        var tokenizer = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);
        const string text = "hello world 😀 中 é";
        // The prepended "▁" is a space the text does not hold, as the decoder strips it.
        Assert.Equal(Encoding.UTF8.GetBytes(" " + text), Concatenated(tokenizer, tokenizer.Encode(text)));
        Assert.Equal([], tokenizer.TokenBytes(tokenizer.VocabSize));
    }
}
