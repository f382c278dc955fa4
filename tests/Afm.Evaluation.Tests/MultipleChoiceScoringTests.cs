using Afm.Core.Spec;
using Afm.Evaluation.Scoring;
using Afm.Evaluation.Tasks;

namespace Afm.Evaluation.Tests;

public class MultipleChoiceScoringTests
{
    /// <summary>A model that knows one log-likelihood per (context, continuation) and records what it was asked.</summary>
    private sealed class TableModel(Dictionary<(string, string), double> table) : ILanguageModel
    {
        public List<(string Context, string Continuation)> Asked { get; } = [];
        public double LogLikelihood(string context, string continuation)
        {
            Asked.Add((context, continuation));
            return table[(context, continuation)];
        }
        public double NegativeLogLikelihood(string text) => throw new NotSupportedException();
        public string Generate(string prompt, int maxTokens, IReadOnlyList<string> stop) => throw new NotSupportedException();
    }

    // Three questions, log-likelihoods chosen by hand so that acc and acc_norm disagree (label in brackets):
    //  q1 "Sky is" [blue]: blue -2.0 (4 chars), green -1.8 (5). acc: green, wrong. acc_norm: -0.5 vs -0.36: green, wrong.
    //  q2 "Two plus two is" [twenty-two]: four -3.0 (4), five -2.5 (4), twenty-two -4.0 (10). acc: five, wrong.
    //     acc_norm: -0.75, -0.625, -0.4: twenty-two, right.
    //  q3 "Ice is" [cold]: cold -1.0 (4), hot -1.0 (3). acc: a tie goes to the first, cold, right. acc_norm: -0.25 vs -0.33: right.
    // acc = 1/3, acc_norm = 2/3.
    private static readonly Dictionary<(string, string), double> Table = new()
    {
        [("Sky is", " blue")] = -2.0, [("Sky is", " green")] = -1.8,
        [("Two plus two is", " four")] = -3.0, [("Two plus two is", " five")] = -2.5, [("Two plus two is", " twenty-two")] = -4.0,
        [("Ice is", " cold")] = -1.0, [("Ice is", " hot")] = -1.0,
    };

    private static IReadOnlyList<MultipleChoiceItem> ReadHandMadeFile(TaskFiles files) => TaskFileReader.ReadMultipleChoice(TaskFiles.Task(EvalTaskKind.MultipleChoice,
        files.Write("facts.jsonl",
            """{"context": "Sky is", "choices": ["blue", "green"], "label": 0}""",
            "",
            """{"context": "Two plus two is", "choices": ["four", "five", "twenty-two"], "label": "twenty-two"}""",
            """{"context": "Ice is", "choices": ["cold", "hot"], "label": 0}""")));

    [Fact]
    public void Accuracy_and_normalized_accuracy_of_a_hand_made_file_are_exact()
    {
        using var files = new TaskFiles();
        var score = MultipleChoiceScorer.Score(ReadHandMadeFile(files), new TableModel(Table), seed: 1);
        Assert.Equal(3, score.Items);
        Assert.Equal("acc", score.Main.Name);
        Assert.Equal(1.0 / 3, score.Metrics[0].Value, 12);
        Assert.Equal("acc_norm", score.Metrics[1].Name);
        Assert.Equal(2.0 / 3, score.Metrics[1].Value, 12);
    }

    [Fact]
    public void Each_choice_is_scored_after_the_target_delimiter_a_space()
    {
        using var files = new TaskFiles();
        var model = new TableModel(Table);
        MultipleChoiceScorer.Score(ReadHandMadeFile(files), model, seed: 1);
        Assert.Equal(7, model.Asked.Count);
        Assert.All(model.Asked, a => Assert.StartsWith(" ", a.Continuation));
    }

    [Fact]
    public void Normalization_by_bytes_differs_from_characters_for_non_ascii_choices()
    {
        // "é" is 1 character and 2 bytes; "ab" is 2 of each. ll: é -1.5, ab -2.0.
        // per char: -1.5 vs -1.0 -> ab; per byte: -0.75 vs -1.0 -> é.
        var items = new[] { new MultipleChoiceItem("x", ["é", "ab"], 0, new("f", 1, 1)) };
        var model = new TableModel(new() { [("x", " é")] = -1.5, [("x", " ab")] = -2.0 });
        var score = MultipleChoiceScorer.Score(items, model, seed: 1);
        Assert.Equal(0, score.Metrics.Single(m => m.Name == "acc_norm").Value);
        Assert.Equal(1, score.Metrics.Single(m => m.Name == "acc_bytes").Value);
    }

    [Fact]
    public void Few_shot_examples_come_before_the_context_with_their_right_answers()
    {
        var items = new[] { new MultipleChoiceItem("Q", ["a", "b"], 0, new("f", 1, 1)) };
        var examples = new[] { new MultipleChoiceItem("E1", ["x", "y"], 1, new("g", 1, 1)), new MultipleChoiceItem("E2", ["z", "w"], 0, new("g", 2, 1)) };
        var prefix = FewShotPrompts.Prefixes(items, examples, shots: 2, seed: 7)(0);
        var parts = prefix.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Order().ToArray();
        Assert.Equal(["E1 y", "E2 z"], parts);
        Assert.EndsWith("\n\n", prefix);
    }

    [Fact]
    public void Few_shot_draws_are_the_same_for_the_same_seed_and_differ_for_another()
    {
        var items = Enumerable.Range(0, 20).Select(i => new MultipleChoiceItem($"Q{i}", ["a", "b"], 0, new("f", i + 1, 1))).ToList();
        var examples = Enumerable.Range(0, 30).Select(i => new MultipleChoiceItem($"E{i}", ["a", "b"], 0, new("g", i + 1, 1))).ToList();
        string All(long seed) { var p = FewShotPrompts.Prefixes(items, examples, 3, seed); return string.Join("|", items.Select((_, i) => p(i))); }
        Assert.Equal(All(5), All(5));
        Assert.NotEqual(All(5), All(6));
    }

    [Fact]
    public void An_item_is_never_its_own_few_shot_example()
    {
        var items = new[] { new MultipleChoiceItem("Q", ["a", "b"], 0, new("f", 1, 1)) };
        var prefix = FewShotPrompts.Prefixes(items, [items[0], new MultipleChoiceItem("E", ["a", "b"], 1, new("g", 1, 1))], shots: 2, seed: 1)(0);
        Assert.Equal("E b\n\n", prefix);
    }
}
