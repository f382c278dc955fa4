using System.Text;
using System.Text.Json;
using Afm.Runtime.Generation.Constraints;

namespace Afm.Runtime.Tests;

/// <summary>
/// The JSON automaton of constrained decoding agrees with System.Text.Json (an independent RFC 8259 parser) on which
/// texts are one complete JSON value, over random valid texts and their one-character mutations (runs of whitespace
/// stay within the automaton's bound).
/// </summary>
public sealed class JsonStateTests
{
    private static JsonState? Run(string text, bool objectOnly = false)
    {
        JsonState? state = JsonState.Start(objectOnly);
        foreach (var c in text) state = state?.Advance(c);
        return state;
    }

    private static bool ParsesAsOneValue(string text)
    {
        try { using var _ = JsonDocument.Parse(text); return true; }
        catch (JsonException) { return false; }
    }

    private static string RandomValue(Random random, int depth)
    {
        int kind = random.Next(depth >= 4 ? 5 : 7);
        string Space() => random.Next(4) == 0 ? " " : "";
        return kind switch
        {
            0 => random.Next(3) switch { 0 => "true", 1 => "false", _ => "null" },
            1 => (random.Next(2) == 0 ? "-" : "") + random.Next(1000) + (random.Next(2) == 0 ? "." + random.Next(100) : "") + (random.Next(3) == 0 ? "e-" + random.Next(9) : ""),
            2 or 3 or 4 => "\"" + new string(Enumerable.Range(0, random.Next(5)).Select(_ => "ab \\\"/é中:{}[],"[random.Next(14)]).ToArray()).Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"",
            5 => "[" + string.Join("," + Space(), Enumerable.Range(0, random.Next(4)).Select(_ => RandomValue(random, depth + 1))) + "]",
            _ => "{" + Space() + string.Join("," + Space(), Enumerable.Range(0, random.Next(4)).Select(i => $"\"k{i}\"" + Space() + ":" + Space() + RandomValue(random, depth + 1))) + Space() + "}",
        };
    }

    [Fact]
    public void Random_valid_texts_and_their_mutations_are_accepted_exactly_when_System_Text_Json_parses_them()
    {
        var random = new Random(5);
        const string alphabet = "{}[]\",:0123456789-+.eE tfnrual\\x";
        int checkedTexts = 0, valid = 0;
        for (int i = 0; i < 400; i++)
        {
            var text = RandomValue(random, 0);
            Assert.True(ParsesAsOneValue(text), text);
            for (int m = 0; m < 10; m++)
            {
                var mutated = new StringBuilder(text);
                int at = random.Next(text.Length + 1);
                switch (random.Next(3))
                {
                    case 0 when at < text.Length: mutated.Remove(at, 1); break;
                    case 1 when at < text.Length: mutated[at] = alphabet[random.Next(alphabet.Length)]; break;
                    default: mutated.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                }
                foreach (var candidate in new[] { text, mutated.ToString() })
                {
                    bool ours = Run(candidate) is { IsComplete: true };
                    // By design the automaton ends at the value's last character (the end-of-document token comes next), so
                    // trailing whitespace, valid JSON, is not in its language.
                    bool expected = ParsesAsOneValue(candidate) && !char.IsWhiteSpace(candidate[^1]);
                    Assert.True(ours == expected, $"'{candidate}': ours {ours}");
                    checkedTexts++;
                    if (ours) valid++;
                }
            }
        }
        Assert.InRange(valid, checkedTexts / 4, checkedTexts - checkedTexts / 20); // both outcomes well represented
    }

    [Theory]
    [InlineData("{\"a\": [1, \"x", "\"]}")]
    [InlineData("{\"a\"", ":0}")]
    [InlineData("{", "}")]
    [InlineData("{\"k\":tr", "ue}")]
    [InlineData("{\"k\":-", "0}")]
    [InlineData("{\"k\":\"\\u00", "00\"}")]
    [InlineData("", "{}")]
    public void The_characters_to_complete_are_the_shortest_completion(string prefix, string completion)
    {
        var state = Run(prefix, objectOnly: true)!;
        Assert.Equal(completion.Length, state.CharactersToComplete);
        Assert.True(Run(prefix + completion, objectOnly: true)!.IsComplete);
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("\"a\"")]
    [InlineData("1")]
    public void A_json_object_constraint_refuses_any_other_top_level_value(string text) =>
        Assert.Null(Run(text, objectOnly: true));

    [Fact]
    public void Whitespace_runs_are_bounded() =>
        Assert.Null(Run("{" + new string(' ', JsonState.MaxWhitespace + 1)));

    [Fact]
    public void Containers_nest_no_deeper_than_System_Text_Jsons_default_limit()
    {
        Assert.NotNull(Run("{\"a\":" + new string('[', JsonState.MaxDepth - 1)));
        Assert.Null(Run("{\"a\":" + new string('[', JsonState.MaxDepth)));
    }
}
