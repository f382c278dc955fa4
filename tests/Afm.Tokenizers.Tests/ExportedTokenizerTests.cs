using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Data.Tokenization;

namespace Afm.Tokenizers.Tests;

/// <summary>
/// A tokenizer trained here, written as a Hugging Face tokenizer.json, gives in Hugging Face tokenizers exactly the ids the
/// toolchain gives (bos included: both put &lt;|endoftext|&gt; first), on mixed and random text and on the sample's corpora.
/// </summary>
public sealed class ExportedTokenizerTests(ExportedTokenizerTests.Trained trained) : IClassFixture<ExportedTokenizerTests.Trained>
{
    /// <summary>Two tokenizers trained once on the sample's corpora (split digits, and whole numbers), and their export.</summary>
    public sealed class Trained : IDisposable
    {
        private readonly TempDirectory _directory = new();

        public Trained()
        {
            Corpus = SampleCorpus.Documents().ToList();
            foreach (var splitDigits in new[] { true, false })
            {
                var folder = Path.Combine(_directory.Path, splitDigits ? "split" : "whole");
                BpeTrainer.Train(Corpus.Concat([TestTexts.Mixed]), new BpeTrainingOptions(1200, splitDigits, ByteFallback: true, ["<|pad|>", "<|user|>"])).Save(folder);
                var tokenizer = AfmTokenizer.Load(folder);
                var export = Path.Combine(folder, "hf");
                HuggingFaceTokenizerWriter.Write(tokenizer, export);
                Tokenizers[splitDigits] = (tokenizer, export);
            }
        }

        public List<string> Corpus { get; }
        public Dictionary<bool, (AfmTokenizer Ours, string Export)> Tokenizers { get; } = new();

        public void Dispose() => _directory.Dispose();
    }

    public static IEnumerable<string> Texts()
    {
        yield return TestTexts.Mixed;
        yield return "<|user|>How many? 12 + 30 = 42<|endoftext|><|pad|><|pad|>";
        yield return "<|reserved_0|> is plain text, not a token";
        yield return "";
        for (var seed = 1; seed <= 40; seed++)
            yield return TestTexts.Random(seed, 300);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Hugging_Face_gives_exactly_our_ids_on_the_exported_tokenizer(bool splitDigits)
    {
        var (ours, export) = trained.Tokenizers[splitDigits];
        var file = Path.Combine(export, "tokenizer.json");
        foreach (var text in Texts())
            Assert.Equal(ours.EncodeSequence(text), HuggingFace.Encode(file, text));
    }

    [Fact]
    public void Hugging_Face_gives_exactly_our_ids_on_the_sample_corpora()
    {
        var (ours, export) = trained.Tokenizers[true];
        var file = Path.Combine(export, "tokenizer.json");
        // A few hundred KB: the first 60,000 characters of each corpus of the sample, document by document.
        var documents = SampleCorpus.Documents(charactersPerFile: 60_000).ToList();
        foreach (var document in documents)
            Assert.Equal(ours.EncodeSequence(document), HuggingFace.Encode(file, document));
        Assert.True(documents.Sum(d => d.Length) > 200_000, $"only {documents.Sum(d => d.Length)} characters of sample text were found");
    }

    [Fact]
    public void The_exported_files_load_back_as_the_same_tokenizer()
    {
        var (ours, export) = trained.Tokenizers[true];
        var again = AfmTokenizer.LoadHuggingFace(export, new("model.afmproj", 1, 1));
        Assert.Equal(ours.VocabSize, again.VocabSize);
        Assert.Equal(ours.Roles, again.Roles);
        foreach (var text in Texts())
            Assert.Equal(ours.EncodeSequence(text), again.EncodeSequence(text));
    }

    [Fact]
    public void The_export_is_byte_level_bpe_with_the_projects_pattern_and_special_tokens_as_added_tokens()
    {
        var (ours, export) = trained.Tokenizers[true];
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(export, "tokenizer.json")))!;
        Assert.Equal(PreTokenization.SplitDigitsPattern, (string?)json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"]);
        Assert.Equal("ByteLevel", (string?)json["pre_tokenizer"]!["pretokenizers"]![1]!["type"]);
        Assert.Null(json["normalizer"]);
        Assert.Equal(["<|endoftext|>", "<|pad|>", "<|user|>"], json["added_tokens"]!.AsArray().Select(t => (string)t!["content"]!));
        Assert.Equal(ours.VocabSize, json["model"]!["vocab"]!.AsObject().Count);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(export, "tokenizer_config.json")))!;
        Assert.True((bool)config["add_bos_token"]!);
        Assert.Equal("<|endoftext|>", (string?)config["bos_token"]);
        Assert.Equal("<|endoftext|>", (string?)config["eos_token"]);
        Assert.Equal("Qwen2Tokenizer", (string?)config["tokenizer_class"]);
    }

    [Fact]
    public void Writing_twice_gives_the_same_bytes()
    {
        var (ours, export) = trained.Tokenizers[true];
        using var again = new TempDirectory();
        HuggingFaceTokenizerWriter.Write(ours, again.Path);
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(export, name)), File.ReadAllBytes(Path.Combine(again.Path, name)));
    }

    [Fact]
    public void The_gguf_description_names_llama_cpps_pre_tokenizer_and_lists_every_token_and_merge()
    {
        var (ours, export) = trained.Tokenizers[true];
        var gguf = GgufTokenizer.From(ours);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(export, "tokenizer.json")))!;
        Assert.Equal(("gpt2", "qwen2"), (gguf.Model, gguf.Pre));
        Assert.Equal(json["model"]!["vocab"]!.AsObject().OrderBy(p => (int)p.Value!).Select(p => p.Key), gguf.Tokens);
        Assert.Equal(json["model"]!["merges"]!.AsArray().Select(m => (string)m!), gguf.Merges);
        Assert.Equal([GgufTokenizer.Control, GgufTokenizer.Control, GgufTokenizer.Control], gguf.TokenTypes.Take(3));
        Assert.All(gguf.TokenTypes.Skip(3), t => Assert.Equal(GgufTokenizer.Normal, t));
        Assert.Equal((0, 0, 0, true), (gguf.BosTokenId, gguf.EosTokenId, gguf.PaddingTokenId!.Value, gguf.AddBosToken));
        Assert.Equal("gpt2", GgufTokenizer.From(trained.Tokenizers[false].Ours).Pre);
        Assert.Contains(new KeyValuePair<string, object>("tokenizer.ggml.pre", "qwen2"), gguf.Metadata());
    }
}

/// <summary>The text of the sample project's corpora (samples/tiny-afm/data, JSON lines with a "text" field).</summary>
internal static class SampleCorpus
{
    public static IEnumerable<string> Documents(int charactersPerFile = int.MaxValue)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AfmToolchain.sln")))
            directory = directory.Parent;
        var data = Path.Combine(directory?.FullName ?? throw new InvalidOperationException("AfmToolchain.sln not found"), "samples", "tiny-afm", "data");
        foreach (var file in Directory.EnumerateFiles(data, "*.jsonl").Order(StringComparer.Ordinal))
        {
            var characters = 0;
            foreach (var line in File.ReadLines(file))
            {
                if (JsonNode.Parse(line)?["text"] is JsonValue text && text.TryGetValue<string>(out var value))
                    yield return value;
                if ((characters += line.Length) >= charactersPerFile)
                    break;
            }
        }
    }
}
