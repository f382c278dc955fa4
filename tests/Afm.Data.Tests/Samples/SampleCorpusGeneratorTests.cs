using System.Text.Json;
using System.Text.RegularExpressions;
using Afm.Data.Samples;

namespace Afm.Data.Tests.Samples;

public sealed class SampleCorpusGeneratorTests
{
    private static readonly SampleCorpusOptions Small = new SampleCorpusOptions().Scaled(0.05);

    [Fact]
    public void The_same_seed_writes_byte_identical_files()
    {
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        var files = SampleCorpusGenerator.Generate(first.Path, Small);
        SampleCorpusGenerator.Generate(second.Path, Small);
        foreach (var file in files)
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(second.Combine(Path.GetFileName(file))));
    }

    [Fact]
    public void A_different_seed_writes_different_documents()
    {
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        SampleCorpusGenerator.Generate(first.Path, Small);
        SampleCorpusGenerator.Generate(second.Path, Small with { Seed = 99 });
        Assert.NotEqual(File.ReadAllText(first.Combine("stories.jsonl")), File.ReadAllText(second.Combine("stories.jsonl")));
    }

    [Fact]
    public void It_writes_four_corpora_and_an_eval_set_with_the_requested_document_counts()
    {
        using var output = new TempDirectory();
        var files = SampleCorpusGenerator.Generate(output.Path, Small).Select(Path.GetFileName);
        Assert.Equal(["stories.jsonl", "arithmetic.jsonl", "facts.jsonl", "notifications.jsonl", "eval.jsonl", "task-summaries.jsonl", "task-capitals.jsonl", "preferences.jsonl"], files);
        Assert.Equal(Small.Stories, File.ReadAllLines(output.Combine("stories.jsonl")).Length);
        Assert.Equal(Small.Notifications, File.ReadAllLines(output.Combine("notifications.jsonl")).Length);
        Assert.Equal(4 * Small.EvalPerStyle, File.ReadAllLines(output.Combine("eval.jsonl")).Length);
    }

    [Fact]
    public void Arithmetic_lines_are_correct()
    {
        using var output = new TempDirectory();
        SampleCorpusGenerator.Generate(output.Path, Small);
        var lines = Texts(output.Combine("arithmetic.jsonl")).SelectMany(t => t.Split('\n')).ToList();
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var m = Regex.Match(line, @"^(\d+) ([-+*/]) (\d+) = (\d+)$");
            Assert.True(m.Success, line);
            var (a, b, c) = (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[3].Value), int.Parse(m.Groups[4].Value));
            Assert.Equal(c, m.Groups[2].Value switch { "+" => a + b, "-" => a - b, "*" => a * b, _ => a / b });
        }
    }

    [Fact]
    public void Every_fact_about_a_capital_agrees_with_every_other()
    {
        using var output = new TempDirectory();
        SampleCorpusGenerator.Generate(output.Path, Small);
        var capitals = new Dictionary<string, string>();
        foreach (var text in Texts(output.Combine("facts.jsonl")).Concat(Texts(output.Combine("eval.jsonl"))))
        {
            foreach (Match m in Regex.Matches(text, @"The capital of (\w+) is (\w+)\.|(\w+) is the capital of (\w+)\."))
            {
                var (country, capital) = m.Groups[1].Success ? (m.Groups[1].Value, m.Groups[2].Value) : (m.Groups[4].Value, m.Groups[3].Value);
                Assert.Equal(capitals.GetValueOrDefault(country, capital), capital);
                capitals[country] = capital;
            }
        }
        Assert.NotEmpty(capitals);
    }

    [Fact]
    public void Notifications_carry_a_summary_and_eval_documents_are_not_training_documents()
    {
        using var output = new TempDirectory();
        SampleCorpusGenerator.Generate(output.Path, Small);
        Assert.All(File.ReadLines(output.Combine("notifications.jsonl")),
            line => Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(line).RootElement.GetProperty("summary").GetString())));
        var training = new[] { "stories", "arithmetic", "facts", "notifications" }.SelectMany(n => Texts(output.Combine(n + ".jsonl"))).ToHashSet();
        Assert.DoesNotContain(Texts(output.Combine("eval.jsonl")), training.Contains);
    }

    [Fact]
    public void Preference_pairs_prefer_the_reference_summary_and_their_level_says_how_wrong_the_other_is()
    {
        using var output = new TempDirectory();
        SampleCorpusGenerator.Generate(output.Path, new SampleCorpusOptions { PreferencePairs = 400 });
        var levels = new Dictionary<string, int>();
        foreach (var line in File.ReadLines(output.Combine("preferences.jsonl")))
        {
            var root = JsonDocument.Parse(line).RootElement;
            var (prompt, chosen, rejected, level) = (root.GetProperty("prompt").GetString()!, root.GetProperty("chosen").GetString()!,
                root.GetProperty("rejected").GetString()!, root.GetProperty("level").GetString()!);
            levels[level] = levels.GetValueOrDefault(level) + 1;
            Assert.NotEqual(chosen, rejected);
            // The reference summary's numbers are the notification's; the rejected one is wrong in the way its level says.
            var chosenWords = chosen.TrimEnd('.').Split(' ');
            var rejectedWords = rejected.TrimEnd('.').Split(' ');
            switch (level)
            {
                case "negligibly better":
                    Assert.Equal(chosen.TrimEnd('.'), rejected);
                    break;
                case "slightly better" or "better":
                    Assert.NotEqual(chosen.TrimEnd('.'), rejected.TrimEnd('.'));
                    Assert.EndsWith(".", rejected);
                    break;
            }
            Assert.All(chosenWords.Where(w => w.Any(char.IsDigit)), number => Assert.Contains(number, prompt));
            if (root.TryGetProperty("chosen_grade", out var grade))
                Assert.True(grade.GetDouble() > root.GetProperty("rejected_grade").GetDouble());
            // One wrong fact keeps the rest of the summary: its first or last word is the reference's.
            if (level == "slightly better")
                Assert.True(chosenWords[0] == rejectedWords[0] || chosenWords[^1] == rejectedWords[^1], $"{chosen} / {rejected}");
        }
        Assert.Equal(4, levels.Count);
        Assert.All(levels.Values, n => Assert.InRange(n, 60, 140));
    }

    private static IEnumerable<string> Texts(string file) =>
        File.ReadLines(file).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!);
}
