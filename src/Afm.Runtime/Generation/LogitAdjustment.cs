namespace Afm.Runtime.Generation;

/// <summary>
/// The OpenAI API's logit processing before each choice: <c>logit[j] + bias[j] - count[j] x frequency - (count[j] &gt; 0)
/// x presence</c>, where <c>count[j]</c> is how often token j was generated so far in this completion (the prompt does
/// not count, as in the OpenAI API's published formula and vLLM's output penalties). The model's own distribution,
/// which logprobs report, is left untouched: the adjustment works on a copy.
/// </summary>
public sealed class LogitAdjustment(SamplingOptions options)
{
    private readonly Dictionary<int, int> counts = [];

    /// <summary>True when nothing would change a logit: the sampler reads the model's logits directly.</summary>
    public bool IsIdentity => options.LogitBias.Count == 0 && options.PresencePenalty == 0 && options.FrequencyPenalty == 0;

    /// <summary>Counts one generated token.</summary>
    public void Record(int id) => counts[id] = counts.GetValueOrDefault(id) + 1;

    /// <summary>The logits to choose from: <paramref name="logits"/> itself when <see cref="IsIdentity"/>, else an adjusted copy.</summary>
    public float[] Apply(float[] logits)
    {
        if (IsIdentity) return logits;
        var adjusted = (float[])logits.Clone();
        foreach (var (id, bias) in options.LogitBias)
            if ((uint)id < (uint)adjusted.Length) adjusted[id] += (float)bias;
        foreach (var (id, count) in counts)
            if ((uint)id < (uint)adjusted.Length)
                adjusted[id] -= (float)(count * options.FrequencyPenalty + options.PresencePenalty);
        return adjusted;
    }
}
