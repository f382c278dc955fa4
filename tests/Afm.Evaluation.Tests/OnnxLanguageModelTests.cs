using Afm.Evaluation.Running;
using Afm.Evaluation.Scoring;
using Afm.Evaluation.Tasks;

namespace Afm.Evaluation.Tests;

/// <summary>
/// The runtime-backed model against log-likelihoods computed here another way: every prefix run alone from an empty
/// cache (one graph run per scored token, no cache reuse), and the log-softmax written out in this file.
/// </summary>
public class OnnxLanguageModelTests(MicroModel micro) : IClassFixture<MicroModel>
{
    private OnnxLanguageModel Model() => new(micro.Session, micro.Tokenizer, micro.Adapters, adapter: null);

    /// <summary>ln P(ids[first..] | ids[..first]) by one uncached run per prefix.</summary>
    private double Independent(IReadOnlyList<int> ids, int first)
    {
        double total = 0;
        for (int t = first; t < ids.Count; t++)
        {
            using var cache = micro.Session.NewCache();
            var logits = micro.Session.Forward(ids.Take(t).Select(i => (long)i).ToArray(), cache);
            var max = logits.Max();
            total += logits[ids[t]] - max - Math.Log(logits.Sum(l => Math.Exp(l - max)));
        }
        return total;
    }

    [Fact]
    public void Log_likelihood_of_a_continuation_matches_uncached_runs_of_every_prefix()
    {
        var whole = micro.Tokenizer.EncodeSequence("The kite is red.");
        int context = micro.Tokenizer.EncodeSequence("The kite is").Count;
        Assert.Equal(Independent(whole, context), Model().LogLikelihood("The kite is", " red."), 4);
    }

    [Fact]
    public void Trailing_space_of_the_context_moves_to_the_continuation()
    {
        var model = Model();
        Assert.Equal(model.LogLikelihood("The kite is", " red."), model.LogLikelihood("The kite is ", "red."), 9);
    }

    [Fact]
    public void A_document_longer_than_the_context_is_scored_in_rolling_windows_over_every_token()
    {
        var text = string.Join(" ", Enumerable.Repeat("Ada has a red kite and a blue boat. Bo reads a green book by the lamp.", 20));
        var ids = micro.Tokenizer.EncodeSequence(text);
        Assert.True(ids.Count > 2 * micro.Session.MaxSequenceLength);
        var nll = Model().NegativeLogLikelihood(text);
        // Every token after the first is scored once: the total is finite and at least the cost of a uniform guess's best case.
        Assert.True(double.IsFinite(nll) && nll > 0);
        // Within one window the rolling score is the plain one.
        var shortText = "The kite is red.";
        Assert.Equal(-Independent(micro.Tokenizer.EncodeSequence(shortText), 1), Model().NegativeLogLikelihood(shortText), 4);
    }

    [Fact]
    public void Multiple_choice_accuracy_through_the_runtime_equals_the_argmax_of_independent_log_likelihoods()
    {
        var items = new List<MultipleChoiceItem>
        {
            new("The kite is", ["red.", "green.", "gold."], 0, new("f", 1, 1)),
            new("Bo reads a green", ["book", "boat", "lamp"], 0, new("f", 2, 1)),
            new("Ed counts 12", ["apples", "kites"], 1, new("f", 3, 1)),
        };
        double expected = 0;
        foreach (var item in items)
        {
            var lls = item.Choices.Select(c =>
            {
                var whole = micro.Tokenizer.EncodeSequence(item.Context + " " + c);
                return Independent(whole, micro.Tokenizer.EncodeSequence(item.Context).Count);
            }).ToList();
            expected += lls.IndexOf(lls.Max()) == item.Label ? 1 : 0;
        }
        Assert.Equal(expected / items.Count, MultipleChoiceScorer.Score(items, Model(), seed: 1).Main.Value, 12);
    }

    [Fact]
    public void Greedy_generation_with_fewer_tokens_is_a_prefix_of_a_longer_one()
    {
        var model = Model();
        var longer = model.Generate("The kite", 8, []);
        Assert.StartsWith(model.Generate("The kite", 3, []), longer);
        Assert.NotEqual(longer, model.Generate("The kite", 3, []));
    }

    [Fact]
    public void A_prompt_longer_than_the_context_keeps_its_last_tokens_and_still_generates()
    {
        var model = Model();
        var tail = "Bo reads a green book by the lamp.";
        var longPrompt = string.Join(" ", Enumerable.Repeat("Ada has a red kite and a blue boat.", 60)) + " " + tail;
        Assert.True(micro.Tokenizer.Encode(longPrompt).Count > micro.Session.MaxSequenceLength);
        Assert.False(string.IsNullOrEmpty(model.Generate(longPrompt, 4, [])));
    }

    [Fact]
    public void Batched_log_likelihoods_equal_each_pair_scored_alone()
    {
        (string, string)[] pairs =
        [
            ("The kite is", " red."), ("The kite is", " green."), ("The kite is", " gold and blue."),
            ("Bo reads a green", " book"), ("Bo reads a green", " boat by the lamp."), ("Ed counts 12 ", "apples"),
            ("Ada", " has a red kite and a blue boat. Cy and Di sail the gold boat."), ("Ed counts 12", " kites"),
        ];
        var model = Model();
        var batched = model.LogLikelihoods(pairs);
        for (int i = 0; i < pairs.Length; i++)
            Assert.Equal(model.LogLikelihood(pairs[i].Item1, pairs[i].Item2), batched[i], 3);
    }
}
