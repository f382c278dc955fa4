using Afm.Evaluation.Tasks;

namespace Afm.Evaluation.Scoring;

/// <summary>
/// Few-shot prefixes as lm-evaluation-harness writes them: each example is its context, the target delimiter and its
/// right choice; examples are separated, and followed, by a blank line ("\n\n"). The examples of every item are drawn
/// without replacement from the few-shot records by one generator seeded with the project's Seed, item after item, so
/// the prompts are the same in every build. A few-shot record identical to the item itself is never drawn for it.
/// </summary>
public static class FewShotPrompts
{
    public const string Delimiter = "\n\n";

    public static Func<int, string> Prefixes(IReadOnlyList<MultipleChoiceItem> items, IReadOnlyList<MultipleChoiceItem> examples, int shots, long seed)
    {
        var random = new Random(unchecked((int)(seed ^ (seed >> 32))));
        var prefixes = new string[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            var pool = examples.Where(e => e.Context != items[i].Context || !e.Choices.SequenceEqual(items[i].Choices)).ToList();
            var chosen = new List<MultipleChoiceItem>(shots);
            for (int s = 0; s < shots && pool.Count > 0; s++)
            {
                int k = random.Next(pool.Count);
                chosen.Add(pool[k]);
                pool.RemoveAt(k);
            }
            prefixes[i] = string.Concat(chosen.Select(e => e.Context + MultipleChoiceScorer.TargetDelimiter + e.Choices[e.Label] + Delimiter));
        }
        return i => prefixes[i];
    }
}
