using Afm.Data.Common;

namespace Afm.Data.Packing;

/// <summary>
/// An endless stream of one corpus's tokens: its documents back to back (each already ends with end-of-document),
/// epoch after epoch. With shuffling, each epoch visits the documents in a fresh order drawn from a seed derived
/// from (seed, stage, corpus, epoch); without it (validation), in reading order every time.
/// </summary>
internal sealed class TokenStream(IReadOnlyList<TokenizedDocument> documents, bool shuffle, long seed, string stage, string corpus)
{
    private int[] _order = [];
    private int _position; // index into _order
    private int _offset; // token offset in the current document
    private int _epoch = -1;

    public long TokensTaken { get; private set; }
    public int Epochs => Math.Max(0, _epoch);
    public long TokensPerEpoch { get; } = documents.Sum(d => (long)d.Tokens.Length);

    public void Take(Span<int> destination)
    {
        if (documents.Count == 0)
            throw new InvalidOperationException($"Corpus '{corpus}' has no documents to draw from.");
        var written = 0;
        while (written < destination.Length)
        {
            if (_position >= _order.Length)
                StartEpoch();
            var tokens = documents[_order[_position]].Tokens;
            var count = Math.Min(tokens.Length - _offset, destination.Length - written);
            tokens.AsSpan(_offset, count).CopyTo(destination[written..]);
            written += count;
            _offset += count;
            if (_offset == tokens.Length)
            {
                _position++;
                _offset = 0;
            }
        }
        TokensTaken += destination.Length;
    }

    private void StartEpoch()
    {
        _epoch++;
        _order = Enumerable.Range(0, documents.Count).ToArray();
        if (shuffle)
            new SplitMix64(StableHash.Of("epoch", seed, stage, corpus, _epoch)).Shuffle(_order);
        _position = 0;
        _offset = 0;
    }
}
