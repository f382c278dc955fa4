using Afm.Data.Corpora;
using Afm.Data.Packing;
using Afm.Data.Tokenization;
using Afm.Tokenizers;

namespace Afm.Data.Tests.Packing;

public sealed class DataStageTests(DataStageFixture fixture) : IClassFixture<DataStageFixture>
{
    [Fact]
    public void Two_runs_write_byte_identical_files()
    {
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        DataStage.Run(fixture.Spec(), fixture.TokenizerDirectory, first.Path);
        DataStage.Run(fixture.Spec(), fixture.TokenizerDirectory, second.Path);

        var files = Directory.GetFiles(first.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(first.Path, f)).Order().ToList();
        Assert.Equal(["core/train-00000.bin", "core/valid-00000.bin", "index.json", "report.json", "report.md"], files.Select(f => f.Replace('\\', '/')));
        foreach (var file in files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(first.Path, file)), File.ReadAllBytes(Path.Combine(second.Path, file)));
    }

    [Fact]
    public void One_thread_and_four_threads_write_byte_identical_files_and_reports()
    {
        using var one = new TempDirectory();
        using var four = new TempDirectory();
        DataStage.Run(fixture.Spec() with { Threads = 1 }, fixture.TokenizerDirectory, one.Path);
        DataStage.Run(fixture.Spec() with { Threads = 4 }, fixture.TokenizerDirectory, four.Path);
        foreach (var file in Directory.GetFiles(one.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(one.Path, f)))
            Assert.Equal(File.ReadAllBytes(Path.Combine(one.Path, file)), File.ReadAllBytes(Path.Combine(four.Path, file)));
    }

    [Fact]
    public void The_training_set_holds_ceil_tokens_over_length_sequences_of_length_plus_one()
    {
        using var output = new TempDirectory();
        var index = DataStage.Run(fixture.Spec(DataStageFixture.Stage("core", 1000, 30)), fixture.TokenizerDirectory, output.Path);
        Assert.Equal(34, index.Stage("core").Train.Sequences);
        Assert.Equal("uint16", index.DType);
        Assert.Equal(34L * 31 * 2, new FileInfo(output.Combine("core", "train-00000.bin")).Length);
    }

    [Fact]
    public void Mix_weights_decide_each_corpus_share_of_sequences()
    {
        using var output = new TempDirectory();
        var index = DataStage.Run(fixture.Spec(), fixture.TokenizerDirectory, output.Path);
        var shares = index.Stage("core").Train.Corpora.ToDictionary(c => c.Corpus, c => c.Sequences);
        var total = (double)shares.Values.Sum();
        Assert.InRange(shares["numbers"] / total, 0.24, 0.26);
        Assert.InRange(shares["stories"] / total, 0.74, 0.76);
    }

    [Fact]
    public void A_corpus_smaller_than_its_share_is_repeated_over_several_epochs()
    {
        using var output = new TempDirectory();
        var index = DataStage.Run(fixture.Spec(DataStageFixture.Stage("core", 40_000, 32, ("numbers", 1.0))), fixture.TokenizerDirectory, output.Path);
        Assert.True(index.Stage("core").Train.Corpora.Single().Epochs > 2);
    }

    [Fact]
    public void Validation_documents_are_disjoint_from_training_documents_and_together_cover_the_corpus()
    {
        using var output = new TempDirectory();
        // One corpus and more than an epoch of tokens: the training stream then shows every training document.
        var spec = fixture.Spec(DataStageFixture.Stage("core", 8000, 32, ("stories", 1.0)));
        var index = DataStage.Run(spec, fixture.TokenizerDirectory, output.Path);
        Assert.True(index.Stage("core").Train.Corpora.Single().Epochs > 1);

        var tokenizer = AfmTokenizer.Load(fixture.TokenizerDirectory);
        var train = StreamDocuments(output.Path, "train", tokenizer);
        var valid = StreamDocuments(output.Path, "valid", tokenizer);
        var stories = CorpusReader.Read(spec.Corpora[0]).Select(d => d.Text).ToHashSet();

        Assert.NotEmpty(valid);
        Assert.Empty(train.Intersect(valid));
        Assert.Equal(stories.Count, index.Corpora[0].TrainDocuments + index.Corpora[0].ValidDocuments);
        Assert.Subset(stories, train.Intersect(stories).ToHashSet());
        Assert.Equal(stories.Count, train.Union(valid).Intersect(stories).Count());
    }

    /// <summary>Rebuilds one corpus's token stream (consecutive sequences overlap by one token) and cuts it into documents.</summary>
    private static HashSet<string> StreamDocuments(string dataDirectory, string split, AfmTokenizer tokenizer)
    {
        using var sequences = PackedSequences.Open(dataDirectory, "core", split);
        var stream = new List<int>();
        var buffer = new int[sequences.SequenceLength + 1];
        for (long i = 0; i < sequences.Count; i++)
        {
            sequences.Read(i, buffer);
            stream.AddRange(i == 0 ? buffer : buffer[1..]);
        }
        var pieces = tokenizer.Decode(stream).Split(BpeTrainingOptions.EndOfDocument);
        return pieces.Skip(1).SkipLast(1).ToHashSet(); // the first and last pieces may be cut mid-document
    }

    [Fact]
    public void Packed_sequences_read_back_what_was_written_across_shards()
    {
        using var output = new TempDirectory();
        var spec = fixture.Spec();
        // A tiny shard cap forces many shards: sequence i must come from the right one.
        var index = DataStage.Run(spec, fixture.TokenizerDirectory, output.Path, shardBytes: 5 * 33 * 2, progress: null);
        Assert.True(index.Stage("core").Train.Shards.Count > 5);

        using var small = PackedSequences.Open(output.Path, "core", "train");
        using var big = new TempDirectory();
        DataStage.Run(spec, fixture.TokenizerDirectory, big.Path);
        using var single = PackedSequences.Open(big.Path, "core", "train");
        Assert.Equal(single.Count, small.Count);
        var a = new int[33];
        var b = new int[33];
        for (long i = 0; i < small.Count; i++)
        {
            small.Read(i, a);
            single.Read(i, b);
            Assert.Equal(b, a);
        }
    }

    [Fact]
    public void Packed_sequences_are_documents_back_to_back_separated_by_end_of_document()
    {
        using var output = new TempDirectory();
        DataStage.Run(fixture.Spec(), fixture.TokenizerDirectory, output.Path);
        var tokenizer = AfmTokenizer.Load(fixture.TokenizerDirectory);
        var text = DecodeAll(output.Path, "train", tokenizer);
        Assert.Contains("<|endoftext|>Story ", text);
        using var train = PackedSequences.Open(output.Path, "core", "train");
        Assert.Equal(32, train.SequenceLength);
        Assert.Equal(tokenizer.VocabSize, train.VocabSize);
    }

    [Fact]
    public void The_index_reports_the_unigram_baseline_of_each_stage()
    {
        using var output = new TempDirectory();
        var index = DataStage.Run(fixture.Spec(), fixture.TokenizerDirectory, output.Path);
        using var train = PackedSequences.Open(output.Path, "core", "train");
        using var valid = PackedSequences.Open(output.Path, "core", "valid");
        var baseline = DataStage.UnigramCrossEntropy(train, valid);
        Assert.Equal(baseline, index.Stage("core").UnigramCrossEntropy!.Value, 9);
        Assert.InRange(baseline, 1.0, Math.Log(index.VocabSize));
    }

    [Fact]
    public void A_vocabulary_above_65536_ids_is_stored_as_uint32()
    {
        using var tokenizer = new TempDirectory();
        using var output = new TempDirectory();
        BpeTrainer.Train(["Mira found 3 stones."], new BpeTrainingOptions(70_000, true, true, [])).Save(tokenizer.Path);
        var index = DataStage.Run(fixture.Spec(), tokenizer.Path, output.Path);
        Assert.Equal("uint32", index.DType);
        Assert.Equal(70_000, index.VocabSize);
        Assert.Equal(index.Stage("core").Train.Sequences * 33 * 4, new FileInfo(output.Combine("core", "train-00000.bin")).Length);
        using var train = PackedSequences.Open(output.Path, "core", "train");
        var buffer = new int[33];
        train.Read(train.Count - 1, buffer);
        Assert.All(buffer, id => Assert.InRange(id, 0, 69_999));
    }

    [Fact]
    public void The_tokenizer_stage_trains_on_the_corpora_of_the_spec()
    {
        using var output = new TempDirectory();
        var vocabulary = TokenizerStage.Run(fixture.Spec(), output.Path);
        Assert.Equal(400, vocabulary.VocabSize);
        var tokenizer = AfmTokenizer.Load(output.Path);
        Assert.True(tokenizer.Encode("Story 12: Mira found").Count < 12);
    }

    private static string DecodeAll(string dataDirectory, string split, AfmTokenizer tokenizer)
    {
        using var sequences = PackedSequences.Open(dataDirectory, "core", split);
        var builder = new System.Text.StringBuilder();
        var buffer = new int[sequences.SequenceLength + 1];
        for (long i = 0; i < sequences.Count; i++)
        {
            sequences.Read(i, buffer);
            builder.Append(tokenizer.Decode(buffer)).Append('\n');
        }
        return builder.ToString();
    }
}
