using System.Text.Json.Nodes;
using Afm.Core.Diagnostics;

namespace Afm.Tokenizers.Tests;

/// <summary>
/// A tokenizer the toolchain does not implement, or a broken file, is a diagnostic at the caller's location (the BaseModel
/// item) naming the file and what is wrong: never an approximation, a stack trace or an unbounded read.
/// </summary>
public sealed class TokenizerDiagnosticsTests
{
    private static readonly SourceLocation BaseModel = new("model.afmproj", 7, 5);

    private static Diagnostic Load(Action<TempDirectory> write)
    {
        using var folder = new TempDirectory();
        write(folder);
        var error = Assert.Throws<DiagnosticException>(() => AfmTokenizer.LoadHuggingFace(folder.Path, BaseModel));
        Assert.Equal(BaseModel, error.Diagnostic.Location);
        Assert.True(error.Diagnostic.IsError);
        return error.Diagnostic;
    }

    private static Diagnostic LoadJson(Func<JsonObject, JsonObject> edit) =>
        Load(folder => folder.Write("tokenizer.json", edit(HandWrittenTokenizers.Qwen2Style())));

    [Fact]
    public void A_folder_without_a_tokenizer_file_says_which_files_it_looked_for()
    {
        var diagnostic = Load(_ => { });
        Assert.Equal("AFM1650", diagnostic.Code);
        Assert.Contains("tokenizer.json", diagnostic.Message);
        Assert.Contains("tokenizer.model", diagnostic.Message);
        Assert.StartsWith("model.afmproj(7,5): error AFM1650: ", diagnostic.ToString());
    }

    [Theory]
    [InlineData("WordPiece")]
    [InlineData("Unigram")]
    [InlineData("WordLevel")]
    public void A_model_that_is_not_bpe_is_unsupported(string type)
    {
        var diagnostic = LoadJson(json => { json["model"]!["type"] = type; return json; });
        Assert.Equal("AFM1652", diagnostic.Code);
        Assert.Contains($"model.type is \"{type}\"", diagnostic.Message);
        Assert.Contains("tokenizer.json", diagnostic.Message);
    }

    [Fact]
    public void An_unknown_pre_tokenizer_is_unsupported()
    {
        var diagnostic = LoadJson(json => { json["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" }; return json; });
        Assert.Equal("AFM1653", diagnostic.Code);
        Assert.Contains("\"BertPreTokenizer\"", diagnostic.Message);
    }

    [Fact]
    public void A_split_regex_in_oniguruma_only_syntax_is_unsupported()
    {
        var diagnostic = LoadJson(json =>
        {
            json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = @"\p{Han}++|\s+";
            return json;
        });
        Assert.Equal("AFM1653", diagnostic.Code);
        Assert.Contains("pre_tokenizer.pretokenizers[0].pattern.Regex", diagnostic.Message);
    }

    [Fact]
    public void A_normalizer_other_than_nfc_in_a_byte_level_tokenizer_is_unsupported()
    {
        var diagnostic = LoadJson(json => { json["normalizer"] = new JsonObject { ["type"] = "NFKC" }; return json; });
        Assert.Equal("AFM1653", diagnostic.Code);
        Assert.Contains("\"NFKC\"", diagnostic.Message);
    }

    [Fact]
    public void An_added_token_that_strips_whitespace_is_unsupported()
    {
        var diagnostic = LoadJson(json => { json["added_tokens"]![1]!["lstrip"] = true; return json; });
        Assert.Equal("AFM1654", diagnostic.Code);
        Assert.Contains("<|im_start|>", diagnostic.Message);
    }

    [Fact]
    public void Invalid_json_is_malformed()
    {
        var diagnostic = Load(folder => folder.Write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", "));
        Assert.Equal("AFM1651", diagnostic.Code);
        Assert.Contains("not valid JSON", diagnostic.Message);
    }

    [Fact]
    public void A_merge_of_tokens_missing_from_the_vocabulary_is_malformed()
    {
        var diagnostic = LoadJson(json => { json["model"]!["merges"]!.AsArray().Add("nope missing"); return json; });
        Assert.Equal("AFM1651", diagnostic.Code);
        Assert.Contains("\"nope missing\"", diagnostic.Message);
    }

    [Fact]
    public void Two_tokens_with_one_id_are_malformed()
    {
        var diagnostic = LoadJson(json => { json["model"]!["vocab"]!["duplicate"] = 5; return json; });
        Assert.Equal("AFM1651", diagnostic.Code);
    }

    [Fact]
    public void A_vocabulary_entry_that_is_not_an_id_is_malformed()
    {
        var diagnostic = LoadJson(json => { json["model"]!["vocab"]!["!"] = "zero"; return json; });
        Assert.Equal("AFM1651", diagnostic.Code);
        Assert.Contains("model.vocab[\"!\"]", diagnostic.Message);
    }

    [Fact]
    public void A_config_naming_a_token_missing_from_the_vocabulary_is_an_error()
    {
        var diagnostic = Load(folder =>
        {
            folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style());
            folder.Write("tokenizer_config.json", new JsonObject { ["eos_token"] = "<|eot_id|>" });
        });
        Assert.Equal("AFM1655", diagnostic.Code);
        Assert.Contains("eos_token", diagnostic.Message);
        Assert.Contains("tokenizer_config.json", diagnostic.Message);
    }

    [Fact]
    public void A_file_larger_than_the_toolchain_reads_is_refused_before_reading_it()
    {
        var diagnostic = Load(folder =>
        {
            using var file = File.Create(Path.Combine(folder.Path, "tokenizer.json"));
            file.SetLength(TokenizerFileInput.MaxBytes + 1); // sparse: no disk is used
        });
        Assert.Equal("AFM1656", diagnostic.Code);
    }

    [Theory]
    [InlineData("tokenizer.model")]
    [InlineData("chat_template.jinja")]
    public void A_file_that_never_ends_is_read_no_further_than_the_bound(string name)
    {
        // /dev/zero reports size 0, so only reading with a bound stops it: File.ReadAllBytes read until memory ran out.
        var diagnostic = Load(folder =>
        {
            if (name != "tokenizer.model") folder.Write("tokenizer.json", HandWrittenTokenizers.Qwen2Style());
            File.CreateSymbolicLink(Path.Combine(folder.Path, name), "/dev/zero");
        });
        Assert.Equal("AFM1656", diagnostic.Code);
        Assert.Contains($"holds more than {TokenizerFileInput.MaxBytes >> 20} MiB", diagnostic.Message);
    }

    [Fact]
    public void A_unigram_tokenizer_model_is_unsupported()
    {
        var diagnostic = Load(folder => File.WriteAllBytes(Path.Combine(folder.Path, "tokenizer.model"),
            SentencePieceModelFile.From(HandWrittenTokenizers.LlamaStyle(metaspace: false), modelType: 1)));
        Assert.Equal("AFM1652", diagnostic.Code);
        Assert.Contains("unigram", diagnostic.Message);
    }

    [Fact]
    public void A_tokenizer_model_that_is_not_sentencepiece_is_malformed()
    {
        var diagnostic = Load(folder => File.WriteAllBytes(Path.Combine(folder.Path, "tokenizer.model"), [0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3]));
        Assert.Equal("AFM1651", diagnostic.Code);
        Assert.Contains("tokenizer.model", diagnostic.Message);
    }
}
