using Afm.Tokenizers;

namespace Afm.Runtime.Generation;

/// <summary>
/// Token ids generation never picks, whatever their logits: the reserved tokens that pad the tokenizer's vocabulary
/// (<see cref="AfmTokenizer.ReservedIds"/>) and any logit the graph has beyond the tokenizer's vocabulary. Encoding never
/// produces those ids, so no training sequence had them as a target: their logits are what initialization and the
/// shared (tied) embedding left, and a sampled one decodes to "&lt;|reserved_k|&gt;" text. The end-of-document token and
/// the project's special tokens are learned ids and stay allowed.
/// </summary>
/// <remarks>
/// Equivalent to setting those logits to -inf before temperature, top-k, top-p and greedy argmax (Hugging Face's
/// <c>suppress_tokens</c>), but the ids are dropped from the candidates instead, so no floating-point remainder of a
/// sampling draw can land on a zero-probability id. Built once per loaded model from the tokenizer's manifest.
/// </remarks>
public sealed class TokenSuppression
{
    private readonly bool[] suppressed;
    private readonly int[] allowed;

    /// <param name="logitCount">The number of logits the graph returns per position (its vocabulary size).</param>
    public TokenSuppression(int logitCount, IEnumerable<int> ids)
    {
        suppressed = new bool[logitCount];
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)logitCount) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is not below {logitCount}.");
            suppressed[id] = true;
        }
        allowed = Enumerable.Range(0, logitCount).Where(id => !suppressed[id]).ToArray();
        if (allowed.Length == 0) throw new ArgumentException("every token id would be suppressed.", nameof(ids));
    }

    /// <summary>The reserved ids of <paramref name="tokenizer"/> and every id at or above its vocabulary size.</summary>
    public static TokenSuppression ForTokenizer(AfmTokenizer tokenizer, int logitCount)
    {
        // The reserved ids are the vocabulary's last ones, so with the ids beyond it they form one run up to logitCount.
        int first = tokenizer.ReservedIds.Start.GetOffset(tokenizer.VocabSize);
        return new TokenSuppression(logitCount, Enumerable.Range(first, Math.Max(0, logitCount - first)));
    }

    public int LogitCount => suppressed.Length;
    /// <summary>The ids that may be generated, ascending.</summary>
    public IReadOnlyList<int> Allowed => allowed;

    /// <summary>A fresh copy of <see cref="Allowed"/> for a caller to reorder (the sampler sorts it by logit).</summary>
    internal int[] CopyAllowed() => (int[])allowed.Clone();

    public bool IsSuppressed(int id) => (uint)id < (uint)suppressed.Length && suppressed[id];
}
