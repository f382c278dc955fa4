using Afm.Data.Packing;

namespace Afm.Training.PostTraining;

/// <summary>
/// Prompt + response + end-of-document sequences held in memory as the data stage packs sft data: L + 1 tokens padded
/// with end-of-document, the response and its end-of-document marked as loss targets. A rejection-sampling stage
/// fine-tunes on the responses it kept; <see cref="Chosen"/> views held-out pairs' chosen responses the same way.
/// </summary>
internal sealed class KeptResponses(int sequenceLength, int vocabSize) : ILossMaskedSequences
{
    private readonly List<(int[] Tokens, byte[] Mask)> sequences = [];

    public int SequenceLength => sequenceLength;
    public long Count => sequences.Count;
    public int VocabSize => vocabSize;

    public void Add(long[] prompt, long[] sequence, int endOfDocument)
    {
        if (sequence.Length > sequenceLength + 1) throw new ArgumentException($"A sequence of {sequence.Length} tokens does not fit {sequenceLength + 1}.", nameof(sequence));
        var tokens = Enumerable.Repeat(endOfDocument, sequenceLength + 1).ToArray();
        for (int i = 0; i < sequence.Length; i++) tokens[i] = (int)sequence[i];
        var mask = new byte[sequenceLength + 1];
        for (int i = prompt.Length; i < sequence.Length; i++) mask[i] = 1;
        sequences.Add((tokens, mask));
    }

    public void Read(long index, Span<int> destination) => sequences[(int)index].Tokens.CopyTo(destination);
    public void ReadLossMask(long index, Span<byte> destination) => sequences[(int)index].Mask.CopyTo(destination);

    /// <summary>The chosen responses of <paramref name="pairs"/>' first <paramref name="count"/> pairs.</summary>
    public static KeptResponses Chosen(PreferencePairs pairs, long count)
    {
        int width = pairs.ResponseLength + 1;
        var result = new KeptResponses(pairs.ResponseLength, pairs.VocabSize);
        var tokens = new int[2 * width];
        var mask = new byte[2 * width];
        for (long p = 0; p < Math.Min(count, pairs.Count); p++)
        {
            pairs.Read(p, tokens);
            pairs.ReadLossMask(p, mask);
            result.sequences.Add((tokens[..width], mask[..width]));
        }
        return result;
    }
}
