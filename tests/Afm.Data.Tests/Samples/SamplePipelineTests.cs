using System.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Data.Samples;
using Afm.Data.Tokenization;
using Afm.Data.Tests.Packing;

namespace Afm.Data.Tests.Samples;

public sealed class SamplePipelineTests
{
    [Fact]
    public void The_default_samples_go_through_tokenizer_and_data_stages_in_seconds()
    {
        using var directory = new TempDirectory();
        SampleCorpusGenerator.Generate(directory.Path, new SampleCorpusOptions());
        CorpusSpec Corpus(string name) => new()
        {
            Name = name, Files = [directory.Combine(name + ".jsonl")], Format = CorpusFormat.JsonLines, TextField = "text",
        };
        using var fixture = new DataStageFixture();
        var spec = fixture.Spec(DataStageFixture.Stage("core", 200_000, 128, ("arithmetic", 0.2), ("facts", 0.2), ("notifications", 0.1), ("stories", 0.5))) with
        {
            Tokenizer = new TokenizerSpec { Kind = "bpe", VocabSize = 4096, SplitDigits = true, ByteFallback = true, SpecialTokens = [] },
            Corpora = [Corpus("arithmetic"), Corpus("facts"), Corpus("notifications"), Corpus("stories")],
            EvalSets = [new EvalSetSpec { Name = "eval", Files = [directory.Combine("eval.jsonl")], Format = CorpusFormat.JsonLines, TextField = "text", Decontaminate = true,
                // As samples/tiny-afm declares: the eval set shares template n-grams with the corpora by construction.
                DecontaminationMinN = 13, DecontaminationMaxN = 13, CommonNGramThreshold = 5 }],
            ValidationFraction = 0.02,
        };

        var clock = Stopwatch.StartNew();
        var vocabulary = TokenizerStage.Run(spec, directory.Combine("tokenizer"));
        var index = DataStage.Run(spec, directory.Combine("tokenizer"), directory.Combine("data"));
        clock.Stop();

        Assert.Equal(4096, vocabulary.VocabSize);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        // Filtering trims the templated sample but keeps most of every corpus.
        var report = Afm.Data.Reporting.DataReport.Load(directory.Combine("data"));
        Assert.All(report.Corpora, c => Assert.True(c.Steps[^1].Amount.Documents >= 0.7 * c.Steps[0].Amount.Documents,
            $"{c.Name}: {c.Steps[^1].Amount.Documents} of {c.Steps[0].Amount.Documents} documents kept"));
        var stage = index.Stage("core");
        Assert.Equal(1563, stage.Train.Sequences);
        Assert.InRange(stage.UnigramCrossEntropy!.Value, 3.0, 7.0);
    }
}
