using System.Text.Json;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Data.Reporting;
using Afm.Data.Tokenization;

namespace Afm.Data.Tests.Packing;

/// <summary>
/// The issue's acceptance case: a corpus with an injected exact duplicate, a near-duplicate (one word changed)
/// and a document embedding an eval-set passage; the data report shows each removed, with counts and ids.
/// </summary>
public sealed class DataCleaningAcceptanceTests : IDisposable
{
    private const string EvalPassage = "the lighthouse keeper counted nine silver gulls above the northern pier at dawn";
    private readonly TempDirectory _directory = new();
    private readonly DataReport _report;
    private readonly DataIndex _index;

    public DataCleaningAcceptanceTests()
    {
        var documents = Enumerable.Range(0, 30).Select(Document).ToList();
        documents.Add(documents[3].ToUpperInvariant().Replace(" ", "  ")); // line 31: exact duplicate (normalized) of line 4
        var words = documents[5].Split(' ');
        words[40] = "zebra";
        documents.Add(string.Join(' ', words)); // line 32: near-duplicate of line 6
        documents.Add(Document(99) + " As the story goes, " + EvalPassage + "."); // line 33: contaminated
        Write("web.jsonl", documents);
        Write("eval.jsonl", [EvalPassage + " and then went home"]);

        var tokenizer = _directory.Combine("tokenizer");
        BpeTrainer.Train(documents, new BpeTrainingOptions(320, SplitDigits: true, ByteFallback: true, [])).Save(tokenizer);
        var spec = Spec();
        _index = DataStage.Run(spec, tokenizer, _directory.Combine("data"));
        _report = DataReport.Load(_directory.Combine("data"));
    }

    private ModelSpec Spec() => new()
    {
        ProjectPath = _directory.Combine("model.afmproj"),
        Name = "clean", Version = "0.1.0", Seed = 7, Threads = 2,
        Architecture = new ArchitectureSpec
        {
            ModelDim = 32, Layers = 1, Heads = 2, KvHeads = 1, FfnDim = 64, VocabSize = 320, RopeBase = 10000,
            TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 32, NormEpsilon = 1e-5,
        },
        Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = 320, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
        Corpora = [new CorpusSpec { Name = "web", Files = [_directory.Combine("web.jsonl")], Format = CorpusFormat.JsonLines, TextField = "text" }],
        EvalSets = [new EvalSetSpec { Name = "bench", Files = [_directory.Combine("eval.jsonl")], Format = CorpusFormat.JsonLines, TextField = "text", Decontaminate = true }],
        TrainingStages = [DataStageFixture.Stage("core", 3000, 32, ("web", 1.0))],
        ValidationFraction = 0.1,
    };

    /// <summary>About 60 words drawn from a 300-word vocabulary: unrelated documents share almost no 5-gram.</summary>
    private static string Document(int seed)
    {
        var state = (uint)seed * 2654435761u + 99;
        return string.Join(' ', Enumerable.Range(0, 60).Select(_ =>
        {
            state = state * 1664525u + 1013904223u;
            var w = (int)(state >> 16) % 300;
            return $"{"bcdfgklmnprst"[w % 13]}{"aeiou"[w / 13 % 5]}{"lnrst"[w / 65 % 5]}{(w >= 150 ? "o" : "a")}";
        }));
    }

    private void Write(string file, IEnumerable<string> texts) =>
        File.WriteAllLines(_directory.Combine(file), texts.Select(t => JsonSerializer.Serialize(new { text = t })));

    private FilterReport Filter(string name) => Assert.Single(_report.Filters, f => f.Name == name);

    [Fact]
    public void The_exact_duplicate_is_removed_and_named()
    {
        var filter = Filter("exact-duplicates");
        Assert.Equal(1, filter.Documents);
        var example = Assert.Single(filter.Examples);
        Assert.Equal("web/web.jsonl:31", example.Id);
        Assert.Contains("web/web.jsonl:4", example.Reason);
    }

    [Fact]
    public void The_near_duplicate_with_one_word_changed_is_removed_and_named()
    {
        var filter = Filter("near-duplicates");
        Assert.Equal(1, filter.Documents);
        var example = Assert.Single(filter.Examples);
        Assert.Equal("web/web.jsonl:32", example.Id);
        Assert.Contains("web/web.jsonl:6", example.Reason);
    }

    [Fact]
    public void The_document_embedding_an_eval_passage_is_removed_and_named()
    {
        var filter = Filter("decontamination");
        Assert.Equal(1, filter.Documents);
        var example = Assert.Single(filter.Examples);
        Assert.Equal("web/web.jsonl:33", example.Id);
        Assert.Contains("bench/eval.jsonl:1", example.Reason);
        Assert.Equal(4, Assert.Single(_report.Decontamination).MinN);
    }

    [Fact]
    public void Documents_and_tokens_are_reported_before_and_after_each_filter()
    {
        var corpus = Assert.Single(_report.Corpora);
        Assert.Equal(["read", "exact-duplicates", "near-duplicates", "decontamination"], corpus.Steps.Select(s => s.Step));
        Assert.Equal([33L, 32, 31, 30], corpus.Steps.Select(s => s.Amount.Documents));
        for (var i = 1; i < corpus.Steps.Count; i++)
            Assert.Equal(corpus.Steps[i - 1].Amount.Tokens - _report.Filters[i - 1].Tokens, corpus.Steps[i].Amount.Tokens);
        Assert.Equal(corpus.Steps[^1].Amount.Tokens, corpus.Train.Tokens + corpus.Valid.Tokens);
        Assert.Equal(30, _index.Corpora[0].TrainDocuments + _index.Corpora[0].ValidDocuments);
        Assert.Equal((2, 1), (_index.Corpora[0].DuplicatesRemoved, _index.Corpora[0].ContaminatedRemoved));
    }

    [Fact]
    public void Tokens_per_stage_by_corpus_match_the_packed_shards()
    {
        var stage = Assert.Single(_report.Stages);
        Assert.Equal(_index.Stage("core").Train.Sequences * 32, stage.TrainTokens);
        Assert.Equal(1.0, Assert.Single(stage.Corpora).Share);
    }

    [Fact]
    public void Tokenizer_stats_give_vocabulary_use_and_bytes_per_token()
    {
        var tokenizer = _report.Tokenizer;
        Assert.Equal(320, tokenizer.VocabSize);
        Assert.InRange(tokenizer.UsedTokens, 20, tokenizer.LearnedTokens);
        Assert.Equal(Math.Round((double)tokenizer.UsedTokens / tokenizer.LearnedTokens, 4), tokenizer.VocabUse);
        Assert.Equal(_report.Corpora[0].Steps[^1].Amount.Bytes, tokenizer.Bytes);
        Assert.InRange(tokenizer.BytesPerToken, 1.5, 10);
    }

    [Fact]
    public void The_markdown_report_lists_each_removal()
    {
        var markdown = File.ReadAllText(_directory.Combine("data", DataReport.MarkdownFileName));
        Assert.Contains("### exact-duplicates: 1 documents", markdown);
        Assert.Contains("`web/web.jsonl:32`", markdown);
        Assert.Contains("`web/web.jsonl:33`", markdown);
        Assert.Contains("bytes per token", markdown);
    }

    public void Dispose() => _directory.Dispose();
}
