using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Corpora;
using Afm.Data.Packing;

namespace Afm.Data.Tests.Packing;

public sealed class DocumentFilterTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private EvalSetSpec EvalSet(bool decontaminate, params string[] texts)
    {
        var file = _directory.Combine($"eval-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(file, texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })));
        return new EvalSetSpec { Name = "eval", Files = [file], Format = CorpusFormat.JsonLines, TextField = "text", Decontaminate = decontaminate };
    }

    private static Document[] Docs(params string[] texts) => texts.Select((t, i) => new Document($"c/f:{i + 1}", t)).ToArray();

    [Fact]
    public void Exact_duplicates_are_dropped_keeping_the_first_even_across_corpora()
    {
        var filter = new DocumentFilter([]);
        var first = filter.Apply(Docs("A cat.", "A  CAT. ", "A dog."));
        var second = filter.Apply(Docs("a cat.", "A bird."));
        Assert.Equal(["A cat.", "A dog."], first.Kept.Select(d => d.Text));
        Assert.Equal(1, first.Duplicates);
        Assert.Equal(["A bird."], second.Kept.Select(d => d.Text));
        Assert.Equal(1, second.Duplicates);
    }

    [Fact]
    public void Documents_copied_from_a_decontaminated_eval_set_are_dropped()
    {
        var filter = new DocumentFilter([EvalSet(true, "The capital of Veloria is Tarnis.")]);
        var result = filter.Apply(Docs("the capital of  Veloria is Tarnis.", "The capital of Veloria is not a secret."));
        Assert.Equal(["The capital of Veloria is not a secret."], result.Kept.Select(d => d.Text));
        Assert.Equal(1, result.Contaminated);
    }

    [Fact]
    public void Eval_sets_without_decontaminate_do_not_filter()
    {
        var filter = new DocumentFilter([EvalSet(false, "Same text.")]);
        Assert.Single(filter.Apply(Docs("Same text.")).Kept);
    }

    [Fact]
    public void A_corpus_emptied_by_filtering_is_error_AFM2003()
    {
        using var fixture = new DataStageFixture();
        var spec = fixture.Spec();
        var stories = spec.Corpora[0];
        spec = spec with { Corpora = [stories, stories with { Name = "copy" }] };
        using var output = new TempDirectory();
        var error = Assert.Throws<DiagnosticException>(() => DataStage.Run(spec, fixture.TokenizerDirectory, output.Path));
        Assert.Equal("AFM2003", error.Diagnostic.Code);
    }

    public void Dispose() => _directory.Dispose();
}
