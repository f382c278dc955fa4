namespace Afm.Data.Tokenization;

/// <summary>
/// What the tokenizer stage is asked to learn. <paramref name="VocabSize"/> counts every id: special tokens,
/// the 256 byte tokens and the learned merges. <see cref="EndOfDocument"/> is always added to the special
/// tokens (first, id 0) whether or not the caller lists it.
/// </summary>
/// <param name="SplitDigits">Every digit is a pre-token of its own, so no merge ever contains a digit.</param>
/// <param name="ByteFallback">Recorded for the project's sake: the vocabulary is byte-level, so every
/// UTF-8 string is encodable (any byte has a token) whatever this says.</param>
public sealed record BpeTrainingOptions(int VocabSize, bool SplitDigits, bool ByteFallback, IReadOnlyList<string> SpecialTokens)
{
    public const string EndOfDocument = "<|endoftext|>";

    /// <summary>The special tokens in id order: end-of-document first, then the caller's, without duplicates.</summary>
    public IReadOnlyList<string> EffectiveSpecialTokens()
    {
        var result = new List<string> { EndOfDocument };
        foreach (var token in SpecialTokens)
        {
            if (string.IsNullOrEmpty(token))
                throw new ArgumentException("A special token cannot be empty.", nameof(SpecialTokens));
            if (!result.Contains(token, StringComparer.Ordinal))
                result.Add(token);
        }
        return result;
    }
}
