using Afm.Core.Spec;
using Afm.Data.Cleaning;

namespace Afm.Data.Tests.Cleaning;

public sealed class NGramDecontaminationTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private const string Passage = "The capital of Veloria is Tarnis and its river is the Ombra";

    private EvalSetSpec EvalSet(int minN = 4, int maxN = 13, int common = 1000, bool decontaminate = true, params string[] texts)
    {
        var file = _directory.Combine($"eval-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(file, (texts.Length > 0 ? texts : [Passage]).Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })));
        return new EvalSetSpec
        {
            Name = "eval", Files = [file], Format = CorpusFormat.JsonLines, TextField = "text", Decontaminate = decontaminate,
            DecontaminationMinN = minN, DecontaminationMaxN = maxN, CommonNGramThreshold = common,
        };
    }

    private static List<(int Removed, string Reason)> Find(EvalSetSpec evalSet, params string[] documents) =>
        new NGramDecontamination([evalSet]).Find(documents.Select(d => (ExactDuplicates.Key(d), WordHashes.Of(d))).ToList(), threads: 2);

    [Fact]
    public void A_training_document_that_embeds_an_eval_passage_is_removed()
    {
        var removed = Find(EvalSet(), "Mira went home.", "Before the quiz: the capital of Veloria is Tarnis, everyone knows.");
        var (index, reason) = Assert.Single(removed);
        Assert.Equal(1, index);
        Assert.Contains("\"the capital of veloria is tarnis\"", reason);
        Assert.Contains("-gram", reason);
    }

    [Fact]
    public void Overlaps_shorter_than_the_smallest_n_are_not_contamination()
    {
        Assert.Empty(Find(EvalSet(minN: 4), "Veloria is Tarnis, they say."));
        Assert.Single(Find(EvalSet(minN: 3), "Veloria is Tarnis, they say."));
    }

    [Fact]
    public void An_n_gram_in_more_training_documents_than_the_common_threshold_is_ignored()
    {
        var documents = Enumerable.Range(0, 6).Select(i => $"Story {i}: the capital of the land was far away.").ToArray();
        var evalSet = EvalSet(common: 5, texts: "They said the capital of the land was near.");
        Assert.Empty(Find(evalSet, documents)); // "the capital of the" is in 6 > 5 documents
        Assert.Equal(5, Find(evalSet, documents[..5]).Count); // in 5 documents: not common
    }

    [Fact]
    public void A_rare_long_n_gram_counts_even_when_its_short_n_grams_are_common()
    {
        var common = Enumerable.Range(0, 3).Select(i => $"Note {i}: the capital of Veloria.").ToList();
        var documents = common.Append("Quote: the capital of Veloria is Tarnis.").ToArray();
        var removed = Find(EvalSet(minN: 4, maxN: 13, common: 2), documents);
        Assert.Equal(3, Assert.Single(removed).Removed);
    }

    [Fact]
    public void A_copy_of_an_eval_document_is_removed_even_when_shorter_than_n()
    {
        var removed = Find(EvalSet(minN: 8, texts: "Short text."), "short   TEXT.");
        Assert.Contains("copy of eval/", Assert.Single(removed).Reason);
    }

    [Fact]
    public void Eval_sets_without_decontaminate_remove_nothing()
    {
        Assert.Empty(Find(EvalSet(decontaminate: false), Passage));
    }

    public void Dispose() => _directory.Dispose();
}
