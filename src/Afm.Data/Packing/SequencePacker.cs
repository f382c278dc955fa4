namespace Afm.Data.Packing;

/// <summary>
/// Cuts fixed-length sequences of L + 1 tokens out of per-corpus token streams, corpus chosen by the mix.
/// </summary>
/// <remarks>
/// Packing choices: documents are packed back to back, separated only by end-of-document, and a sequence may start
/// and end in the middle of a document (no padding, no masking: every position is a real next-token target).
/// Consecutive sequences from the same corpus overlap by one token (the last token of one is the first of the
/// next), so every token of the stream is a target exactly once.
/// </remarks>
internal sealed class SequencePacker(IReadOnlyList<TokenStream> streams, IReadOnlyList<double> weights, int sequenceLength)
{
    private readonly MixScheduler _scheduler = new(weights);
    private readonly int?[] _carry = new int?[streams.Count];

    public long[] SequencesByCorpus { get; } = new long[streams.Count];

    public void Next(Span<int> sequence)
    {
        if (sequence.Length != sequenceLength + 1)
            throw new ArgumentException($"A sequence holds {sequenceLength + 1} tokens.", nameof(sequence));
        var corpus = _scheduler.Next();
        var fresh = sequence;
        if (_carry[corpus] is { } carried)
        {
            sequence[0] = carried;
            fresh = sequence[1..];
        }
        streams[corpus].Take(fresh);
        _carry[corpus] = sequence[^1];
        SequencesByCorpus[corpus]++;
    }
}
