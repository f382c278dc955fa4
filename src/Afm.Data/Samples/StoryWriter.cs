using Afm.Data.Common;

namespace Afm.Data.Samples;

/// <summary>
/// Short templated stories with a consistent cast: the hero, the lost object, the helper and the place stay the
/// same from the first sentence to the last, so a model can learn to carry them through a text.
/// </summary>
internal static class StoryWriter
{
    public static string Write(ref SplitMix64 random)
    {
        var hero = random.Pick(Words.Names);
        string helper;
        do helper = random.Pick(Words.Names); while (helper == hero);
        var pet = random.Pick(Words.Animals);
        var place = random.Pick(Words.Places);
        var thing = random.Pick(Words.Objects);
        var hiding = random.Pick(Words.Hiding);
        var time = random.Pick(Words.Times);
        var searched = random.Between(2, 5);

        var lines = new List<string>
        {
            $"{hero} lived near {place} with a small {pet}.",
            $"One {time}, {hero} could not find the {thing}.",
            $"{hero} looked in {searched} places, but the {thing} was not there.",
        };
        if (random.Next(2) == 0)
        {
            lines.Add($"{hero} asked {helper} for help.");
            lines.Add($"\"Did you look {hiding}?\" asked {helper}.");
            lines.Add($"{hero} looked {hiding} and found the {thing}.");
            lines.Add($"{hero} thanked {helper} and gave {helper} a cup of tea.");
        }
        else
        {
            lines.Add($"Then the {pet} ran off and came back with the {thing}.");
            lines.Add($"The {pet} had hidden it {hiding}.");
            lines.Add($"{hero} laughed and gave the {pet} a treat.");
        }
        lines.Add($"That night {hero} felt {random.Pick(Words.Feelings)}, and the {thing} stayed by the window.");
        return string.Join(' ', lines);
    }
}
