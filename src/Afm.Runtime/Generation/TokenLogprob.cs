namespace Afm.Runtime.Generation;

/// <summary>A token and its natural-log probability under the model.</summary>
public readonly record struct TokenProbability(int Id, float Logprob);

/// <summary>
/// A generated (or prompt) token's log-probability and the most likely alternatives at its position, as the OpenAI
/// API's logprobs report them. Probabilities are the model's own next-token distribution (a log-softmax of the raw
/// logits, before temperature, penalties and logit bias, as vLLM reports by default); reserved ids the generator never
/// picks are not listed as alternatives.
/// </summary>
public sealed record TokenLogprob(int Id, float Logprob, IReadOnlyList<TokenProbability> Top)
{
    /// <summary>The log-probability of <paramref name="chosen"/> and the <paramref name="top"/> likeliest allowed ids (ties by lower id).</summary>
    public static TokenLogprob Of(ReadOnlySpan<float> logits, int chosen, int top, TokenSuppression? suppression = null)
    {
        double max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        double logNormalizer = max + Math.Log(sum);

        var best = new List<int>(top + 1);
        if (top > 0)
            for (int id = 0; id < logits.Length; id++)
            {
                if (suppression?.IsSuppressed(id) == true) continue;
                // Insertion into a short sorted list: top is at most 20, the vocabulary large.
                int at = best.Count;
                while (at > 0 && logits[best[at - 1]] < logits[id]) at--;
                if (at >= top) continue;
                best.Insert(at, id);
                if (best.Count > top) best.RemoveAt(best.Count - 1);
            }
        var alternatives = new TokenProbability[best.Count];
        for (int i = 0; i < best.Count; i++) alternatives[i] = new TokenProbability(best[i], (float)(logits[best[i]] - logNormalizer));
        return new TokenLogprob(chosen, (float)(logits[chosen] - logNormalizer), alternatives);
    }
}
