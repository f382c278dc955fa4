using System.Text;
using Afm.Evaluation.Tasks;

namespace Afm.Evaluation.Scoring;

/// <summary>
/// Multiple-choice scoring as lm-evaluation-harness defines it: each choice is scored by the log-likelihood of
/// <c>" " + choice</c> (its target delimiter) after the context; <c>acc</c> counts the argmax of the log-likelihoods,
/// <c>acc_norm</c> the argmax of log-likelihood / the choice's length in characters (the harness's <c>len(choice)</c>,
/// Unicode code points, delimiter excluded), and <c>acc_bytes</c> the argmax per UTF-8 byte of the choice. A tie goes to
/// the first choice (numpy's argmax).
/// </summary>
public static class MultipleChoiceScorer
{
    public const string TargetDelimiter = " ";

    /// <summary>Per item: [acc, acc_norm, acc_bytes] as 0/1.</summary>
    public static IReadOnlyList<double[]> ScoreItems(IReadOnlyList<MultipleChoiceItem> items, ILanguageModel model, Func<int, string>? prefix = null)
    {
        // Every choice of every item in one request, so the model can batch them (a question's choices side by side).
        var contexts = items.Select((item, i) => (prefix?.Invoke(i) ?? "") + item.Context).ToList();
        var lls = model.LogLikelihoods(items.SelectMany((item, i) => item.Choices.Select(c => (contexts[i], TargetDelimiter + c))).ToList());
        var scores = new List<double[]>(items.Count);
        int next = 0;
        foreach (var item in items)
        {
            var ll = lls.Skip(next).Take(item.Choices.Count).ToArray();
            next += item.Choices.Count;
            var chars = item.Choices.Select(c => (double)c.EnumerateRunes().Count()).ToArray();
            var bytes = item.Choices.Select(c => (double)Encoding.UTF8.GetByteCount(c)).ToArray();
            scores.Add([
                ArgMax(ll, _ => 1) == item.Label ? 1 : 0,
                ArgMax(ll, k => chars[k]) == item.Label ? 1 : 0,
                ArgMax(ll, k => bytes[k]) == item.Label ? 1 : 0,
            ]);
        }
        return scores;
    }

    public static TaskScore Score(IReadOnlyList<MultipleChoiceItem> items, ILanguageModel model, long seed, Func<int, string>? prefix = null)
    {
        var scores = ScoreItems(items, model, prefix);
        string[] names = ["acc", "acc_norm", "acc_bytes"];
        return new TaskScore(names.Select((name, m) => Bootstrap.Mean(name, scores.Select(s => s[m]).ToList(), seed)).ToList(), items.Count);
    }

    /// <summary>The first index of the largest ll / length (an empty choice has length 0: its normalized score is +-inf, as in numpy).</summary>
    private static int ArgMax(double[] lls, Func<int, double> length)
    {
        int best = 0;
        for (int k = 1; k < lls.Length; k++)
            if (lls[k] / length(k) > lls[best] / length(best)) best = k;
        return best;
    }
}
