using System.Text;
using Afm.Core.Diagnostics;

namespace Afm.Tokenizers.Tests;

/// <summary>
/// Tokenizers of Hugging Face checkpoints, loaded by the toolchain, give exactly the ids Hugging Face tokenizers itself
/// gives on the same file and text (the reference: the Rust library through Tokenizers.DotNet).
/// </summary>
public sealed class ImportedTokenizerTests
{
    private static readonly SourceLocation BaseModel = new("model.afmproj", 7, 5);

    public static IEnumerable<string> Texts()
    {
        yield return TestTexts.Mixed;
        yield return "";
        yield return " leading space and trailing ";
        yield return "   ";
        for (var seed = 1; seed <= 30; seed++)
            yield return TestTexts.Random(seed, 200);
    }

    private static readonly string[] ByteLevelSpecials =
    [
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n[[user]] 12 apples<|im_end|><|endoftext|>",
        "a<|im_start|>b<|im_start|>systemc<|im_end|><|im_end|>  <|endoftext|>\n",
        "<|im_start|syst <|im_end <|endoftext|",
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_Qwen2_style_byte_level_tokenizer_gives_exactly_the_ids_Hugging_Face_gives(bool arrayMerges)
    {
        using var folder = new TempDirectory();
        var path = folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style(arrayMerges));
        folder.Write("tokenizer_config.json", HandWrittenTokenizers.Qwen2Config());
        var ours = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);

        Assert.Equal(TokenizerKind.ByteLevelBpe, ours.Kind);
        foreach (var text in Texts().Concat(ByteLevelSpecials))
            Assert.Equal(HuggingFace.Encode(path, text), ours.EncodeSequence(text));
    }

    [Fact]
    public void A_Llama3_style_tokenizer_with_ignore_merges_gives_exactly_the_ids_Hugging_Face_gives()
    {
        using var folder = new TempDirectory();
        var path = folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style(llama3: true));
        var ours = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);
        string[] wholeWords = ["say hello world! 123 and 1234567", " hello hello"];
        foreach (var text in Texts().Concat(ByteLevelSpecials).Concat(wholeWords))
            Assert.Equal(HuggingFace.Encode(path, text), ours.EncodeSequence(text));
        // No merge reaches " hello" or "123"; with ignore_merges a piece that is a vocabulary entry is that one token.
        Assert.Single(ours.Encode(" hello"));
        Assert.Single(ours.Encode("123"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_Llama_style_sentencepiece_tokenizer_with_byte_fallback_gives_exactly_the_ids_Hugging_Face_gives(bool metaspace)
    {
        using var folder = new TempDirectory();
        var path = folder.Write("tokenizer.json", HandWrittenTokenizers.LlamaStyle(metaspace));
        folder.Write("tokenizer_config.json", HandWrittenTokenizers.LlamaConfig());
        var ours = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);

        Assert.Equal(TokenizerKind.SentencePieceBpe, ours.Kind);
        string[] specials = ["<s>Hello</s> world<s>", "the end</s>", " <s> ", "x<unk>y"];
        foreach (var text in Texts().Concat(specials))
            Assert.Equal(HuggingFace.Encode(path, text), ours.EncodeSequence(text));
    }

    [Fact]
    public void A_sentencepiece_tokenizer_model_gives_the_ids_Hugging_Face_gives_on_the_equivalent_tokenizer_json()
    {
        // Microsoft.ML.Tokenizers runs the protobuf; the reference runs the tokenizer.json with the same pieces and merges.
        using var reference = new TempDirectory();
        var json = HandWrittenTokenizers.LlamaStyle(metaspace: false);
        var path = reference.Write("tokenizer.json", json);
        using var folder = new TempDirectory();
        File.WriteAllBytes(Path.Combine(folder.Path, "tokenizer.model"), SentencePieceModelFile.From(json));
        folder.Write("tokenizer_config.json", HandWrittenTokenizers.LlamaConfig());
        var ours = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);

        Assert.Equal(TokenizerKind.SentencePieceBpe, ours.Kind);
        Assert.Equal(new SpecialTokenRoles(1, 2, null, 0, AddBeginOfSequence: true), ours.Roles);
        foreach (var text in Texts().Concat(["<s>Hello</s> world<s>", "the end</s>", "x<unk>y"]))
            Assert.Equal(HuggingFace.Encode(path, text), ours.EncodeSequence(text));
    }

    [Fact]
    public void Byte_level_text_round_trips_through_encode_and_decode_up_to_NFC()
    {
        using var folder = new TempDirectory();
        folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style());
        var ours = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);
        foreach (var text in Texts().Concat(ByteLevelSpecials))
            Assert.Equal(text.Normalize(NormalizationForm.FormC), ours.Decode(ours.Encode(text)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sentencepiece_text_without_leading_space_round_trips_through_encode_and_decode(bool metaspace)
    {
        using var folder = new TempDirectory();
        folder.Write("tokenizer.json", HandWrittenTokenizers.LlamaStyle(metaspace));
        var ours = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);
        foreach (var text in Texts().Where(t => !t.StartsWith(' ')))
            Assert.Equal(text, ours.Decode(ours.Encode(text)));
    }

    [Fact]
    public void Characters_outside_a_sentencepiece_vocabulary_fall_back_to_their_utf8_bytes()
    {
        using var folder = new TempDirectory();
        folder.Write("tokenizer.json", HandWrittenTokenizers.LlamaStyle(metaspace: false));
        var ours = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);
        // "文" is E6 96 87 in UTF-8; the byte tokens <0x00>..<0xFF> have ids 3..258.
        var ids = ours.Encode("文");
        Assert.Equal([IdOf(ours, "▁"), 3 + 0xE6, 3 + 0x96, 3 + 0x87], ids);
    }

    [Fact]
    public void The_config_gives_the_roles_and_the_chat_template_travels_as_text()
    {
        using var folder = new TempDirectory();
        folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style());
        folder.Write("tokenizer_config.json", HandWrittenTokenizers.Qwen2Config());
        var qwen = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);
        Assert.Null(qwen.Roles.BeginOfSequence);
        Assert.False(qwen.Roles.AddBeginOfSequence);
        Assert.Equal("<|im_end|>", qwen.Decode([qwen.EndOfDocumentId]));
        Assert.Equal("<|endoftext|>", qwen.Decode([qwen.Roles.Padding!.Value]));
        Assert.StartsWith("{% for message in messages %}", qwen.ChatTemplate);

        using var llamaFolder = new TempDirectory();
        llamaFolder.Write("tokenizer.json", HandWrittenTokenizers.LlamaStyle(metaspace: false));
        llamaFolder.Write("tokenizer_config.json", HandWrittenTokenizers.LlamaConfig());
        var llama = AfmTokenizer.LoadHuggingFace(llamaFolder.Path, BaseModel);
        Assert.Equal(new SpecialTokenRoles(1, 2, null, 0, AddBeginOfSequence: true), llama.Roles);
        Assert.Null(llama.ChatTemplate);
    }

    [Fact]
    public void Of_several_named_chat_templates_the_default_one_is_kept()
    {
        using var folder = new TempDirectory();
        folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style());
        var config = HandWrittenTokenizers.Qwen2Config();
        config["chat_template"] = new System.Text.Json.Nodes.JsonArray(
            new System.Text.Json.Nodes.JsonObject { ["name"] = "tool_use", ["template"] = "{{ tools }}" },
            new System.Text.Json.Nodes.JsonObject { ["name"] = "default", ["template"] = "{{ messages }}" });
        folder.Write("tokenizer_config.json", config);
        Assert.Equal("{{ messages }}", AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel).ChatTemplate);
    }

    [Fact]
    public void A_chat_template_jinja_file_wins_over_the_config_and_is_written_out_with_the_tokenizer()
    {
        using var folder = new TempDirectory();
        folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style());
        folder.Write("tokenizer_config.json", HandWrittenTokenizers.Qwen2Config());
        File.WriteAllText(Path.Combine(folder.Path, "chat_template.jinja"), "{{ messages[0].content }}");
        var qwen = AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel);
        Assert.Equal("{{ messages[0].content }}", qwen.ChatTemplate); // transformers' rule: the file over tokenizer_config.json's key

        // The tokenizer stage's copy keeps the file, so the artifact (and every reader of its folder) keeps the template.
        using var copy = new TempDirectory();
        HuggingFaceTokenizerWriter.Write(qwen, copy.Path);
        Assert.Equal("{{ messages[0].content }}", AfmTokenizer.Load(copy.Path).ChatTemplate);
        // A project's template given to the writer replaces it.
        HuggingFaceTokenizerWriter.Write(qwen, copy.Path, "{{ messages[-1].content }}");
        Assert.Equal("{{ messages[-1].content }}", AfmTokenizer.Load(copy.Path).ChatTemplate);
    }

    [Fact]
    public void A_chat_template_jinja_file_that_is_not_UTF8_is_AFM1651_at_the_base_model()
    {
        using var folder = new TempDirectory();
        folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style());
        File.WriteAllBytes(Path.Combine(folder.Path, "chat_template.jinja"), [0x7b, 0xff, 0x7d]);
        var e = Assert.Throws<Afm.Core.Diagnostics.DiagnosticException>(() => AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel));
        Assert.Equal("AFM1651", e.Diagnostic.Code);
        Assert.Equal(BaseModel, e.Diagnostic.Location);
    }

    private static int IdOf(AfmTokenizer tokenizer, string spelling) =>
        Enumerable.Range(0, tokenizer.VocabSize).First(id => tokenizer.Spelling(id) == spelling);
}
