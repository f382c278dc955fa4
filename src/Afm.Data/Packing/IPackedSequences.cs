namespace Afm.Data.Packing;

/// <summary>
/// Fixed-length training sequences as the data stage packs them: each sequence holds
/// <see cref="SequenceLength"/> + 1 token ids, so that inputs are tokens [0, L) and next-token targets are
/// tokens [1, L]. Training reads through this and never cares how shards are laid out on disk.
/// </summary>
public interface IPackedSequences
{
    /// <summary>L: the model sees L tokens per sequence.</summary>
    int SequenceLength { get; }

    long Count { get; }

    int VocabSize { get; }

    /// <summary>Copies sequence <paramref name="index"/> (L + 1 ids) into <paramref name="destination"/>.</summary>
    void Read(long index, Span<int> destination);
}
