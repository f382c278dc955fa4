using Afm.Data.Common;

namespace Afm.Data.Samples;

/// <summary>
/// A fixed invented world (countries with a capital, language, river and currency) and documents stating its
/// facts in varied wording. The world depends only on the seed, so every document (and the eval set) states
/// the same facts: "The capital of Veloria is Tarnis." is always true in this corpus.
/// </summary>
internal sealed class FactWorld
{
    private sealed record Country(string Name, string Capital, string Language, string River, string Currency);

    private readonly List<Country> _countries = new();

    public FactWorld(ulong seed, int countries = 24)
    {
        var random = new SplitMix64(seed ^ 0xFAC7_5EED);
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < countries; i++)
        {
            var name = Unique(ref random, used, 2, "ia");
            _countries.Add(new Country(name, Unique(ref random, used, 2, ""), Unique(ref random, used, 2, "ish"),
                Unique(ref random, used, 2, ""), Unique(ref random, used, 1, "o")));
        }
    }

    public string Write(ref SplitMix64 random)
    {
        var count = random.Between(3, 6);
        var sentences = new List<string>(count);
        for (var i = 0; i < count; i++)
            sentences.Add(Fact(ref random, random.Pick(_countries)));
        return string.Join(' ', sentences);
    }

    /// <summary>
    /// One multiple-choice question per country, "The capital of X is" with four capitals of the world as choices (the
    /// right one at a drawn position): the evaluate stage's sample task (specs/sample-data.md). Fields as the EvalTask
    /// defaults: context, choices, label.
    /// </summary>
    public IEnumerable<(string Context, string[] Choices, int Label)> CapitalQuestions(SplitMix64 random)
    {
        foreach (var country in _countries)
        {
            var choices = new List<string> { country.Capital };
            while (choices.Count < 4)
                if (random.Pick(_countries).Capital is var other && !choices.Contains(other)) choices.Add(other);
            int label = random.Next(4);
            (choices[0], choices[label]) = (choices[label], choices[0]);
            yield return ($"The capital of {country.Name} is", [.. choices], label);
        }
    }

    private static string Fact(ref SplitMix64 random, Country c) => random.Next(8) switch
    {
        0 => $"The capital of {c.Name} is {c.Capital}.",
        1 => $"{c.Capital} is the capital of {c.Name}.",
        2 => $"People in {c.Name} speak {c.Language}.",
        3 => $"The main language of {c.Name} is {c.Language}.",
        4 => $"The {c.River} river flows through {c.Name}.",
        5 => $"The currency of {c.Name} is the {c.Currency}.",
        6 => $"In {c.Capital}, people pay with the {c.Currency}.",
        _ => $"Q: What is the capital of {c.Name}? A: {c.Capital}.",
    };

    private static string Unique(ref SplitMix64 random, HashSet<string> used, int syllables, string suffix)
    {
        while (true)
        {
            var word = "";
            for (var i = 0; i <= syllables; i++)
                word += random.Pick(Words.Syllables);
            word += suffix;
            word = char.ToUpperInvariant(word[0]) + word[1..];
            if (used.Add(word))
                return word;
        }
    }
}
