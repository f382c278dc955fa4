namespace Afm.Runtime.Generation;

/// <summary>
/// Chooses tokens from logits: greedy, or temperature-scaled sampling restricted to the top-k tokens and to the
/// smallest set whose probability reaches top-p. Seeded: the same seed and logits give the same tokens; without a
/// seed each sampler draws its own.
/// Ids in <paramref name="suppression"/> are never candidates (as if their logits were -inf), in greedy and sampled
/// choice alike; top-k and top-p count only the allowed ids.
/// Written here (rather than using a library) because ONNX Runtime's C# API has no sampler outside GenAI,
/// which the package source does not hold.
/// </summary>
public sealed class Sampler(SamplingOptions options, TokenSuppression? suppression = null)
{
    private readonly Random random = options.Seed is { } seed ? new Random(Fold(seed)) : new Random();

    /// <summary>Random takes an int; a 64-bit seed (the OpenAI API allows one) keeps both halves.</summary>
    private static int Fold(long seed) => unchecked((int)seed ^ (int)(seed >>> 32));

    public int Next(ReadOnlySpan<float> logits)
    {
        if (suppression is not null && suppression.LogitCount != logits.Length)
            throw new ArgumentException($"{logits.Length} logits, but the suppressed ids were built for {suppression.LogitCount}.", nameof(logits));
        if (options.Temperature <= 0) return ArgMax(logits);

        // Candidates by descending logit; ties by lower id so the order never depends on the sort.
        var order = suppression?.CopyAllowed() ?? Enumerable.Range(0, logits.Length).ToArray();
        var keys = logits.ToArray();
        Array.Sort(order, (a, b) => keys[b] != keys[a] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
        int count = options.TopK > 0 ? Math.Min(options.TopK, order.Length) : order.Length;

        var probabilities = new double[count];
        double max = keys[order[0]] / options.Temperature, sum = 0;
        for (int i = 0; i < count; i++) sum += probabilities[i] = Math.Exp(keys[order[i]] / options.Temperature - max);

        if (options.TopP < 1)
        {
            double cumulative = 0;
            for (int i = 0; i < count; i++)
            {
                cumulative += probabilities[i] / sum;
                if (cumulative >= options.TopP) { count = i + 1; break; }
            }
            sum = probabilities.Take(count).Sum();
        }

        double draw = random.NextDouble() * sum;
        for (int i = 0; i < count; i++)
        {
            draw -= probabilities[i];
            if (draw <= 0) return order[i];
        }
        return order[count - 1];
    }

    private int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = -1;
        for (int i = 0; i < logits.Length; i++)
            if ((best < 0 || logits[i] > logits[best]) && suppression?.IsSuppressed(i) != true) best = i;
        return best;
    }
}
