using Afm.Evaluation.Scoring;
using Afm.Evaluation.Tasks;

namespace Afm.Evaluation.Tests;

public class MetricTests
{
    [Fact]
    public void Rouge_l_is_the_f_measure_of_the_longest_common_subsequence_of_tokens()
    {
        // Candidate "the cat was found under the bed" (7 tokens), reference "the cat was under the bed" (6):
        // LCS = 6 (the cat was under the bed): P = 6/7, R = 1, F = 2PR/(P+R) = 12/13.
        Assert.Equal(12.0 / 13, RougeL.FMeasure("the cat was found under the bed", "the cat was under the bed"), 12);
    }

    [Fact]
    public void Rouge_l_tokens_are_lowercased_and_split_at_anything_not_a_letter_or_digit()
    {
        Assert.Equal(["meeting", "at", "3pm", "bring", "the", "q4", "deck"], RougeL.Tokens("Meeting at 3pm: bring the Q4-deck!"));
        Assert.Equal(1.0, RougeL.FMeasure("Hello, World", "hello world"));
    }

    [Fact]
    public void Rouge_l_of_nothing_in_common_or_an_empty_text_is_zero()
    {
        Assert.Equal(0, RougeL.FMeasure("a b", "c d"));
        Assert.Equal(0, RougeL.FMeasure("", "c d"));
    }

    private sealed class FixedOutputs(Dictionary<string, string> outputs) : ILanguageModel
    {
        public double LogLikelihood(string context, string continuation) => throw new NotSupportedException();
        public double NegativeLogLikelihood(string text) => text.Length * Math.Log(2);   // one bit per character
        public string Generate(string prompt, int maxTokens, IReadOnlyList<string> stop) => outputs[prompt];
    }

    [Fact]
    public void Generate_tasks_report_rouge_l_first_and_exact_match_after_trimming()
    {
        var items = new[] { new GenerateItem("p1", "a b c", new("f", 1, 1)), new GenerateItem("p2", "x y", new("f", 2, 1)) };
        var score = GenerateScorer.Score(items, new FixedOutputs(new() { ["p1"] = " a b c\n", ["p2"] = "x" }), 8, [], seed: 1);
        Assert.Equal("rouge_l", score.Main.Name);
        // p1: F = 1; p2: P = 1, R = 1/2, F = 2/3.
        Assert.Equal((1 + 2.0 / 3) / 2, score.Main.Value, 12);
        Assert.Equal(0.5, score.Metrics[1].Value);
    }

    [Fact]
    public void Bits_per_byte_is_total_bits_over_total_utf8_bytes()
    {
        // One bit per character: "é" is 1 character in 2 bytes, "ab" 2 in 2: 3 bits over 4 bytes.
        var documents = new[] { new TextDocument("é", new("f", 1, 1)), new TextDocument("ab", new("f", 2, 1)) };
        Assert.Equal(0.75, BitsPerByteScorer.Score(documents, new FixedOutputs([]), seed: 1).Main.Value, 12);
    }

    [Fact]
    public void Bootstrap_standard_error_is_seeded_and_near_the_analytic_one()
    {
        var values = Enumerable.Range(0, 400).Select(i => i % 4 == 0 ? 1.0 : 0.0).ToList();
        var first = Bootstrap.StandardError(values, null, seed: 3);
        Assert.Equal(first, Bootstrap.StandardError(values, null, seed: 3));
        // A proportion p = 0.25 over n = 400 has standard error sqrt(p(1-p)/n) = 0.02165.
        Assert.InRange(first, 0.0195, 0.0240);
    }
}
