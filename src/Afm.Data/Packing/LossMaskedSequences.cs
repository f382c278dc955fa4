using System.IO.MemoryMappedFiles;

namespace Afm.Data.Packing;

/// <summary>Packed sequences that say, per token, whether it is a loss target (sft stages).</summary>
public interface ILossMaskedSequences : IPackedSequences
{
    /// <summary>
    /// Copies the mask of sequence <paramref name="index"/> (L + 1 bytes, aligned with its tokens): 1 where the token
    /// is a loss target (a response or end-of-document token), 0 where it is only context (a prompt token).
    /// Byte 0 is never a target (it is only an input).
    /// </summary>
    void ReadLossMask(long index, Span<byte> destination);
}

/// <summary>
/// The token shards of a split plus its loss mask, <c>&lt;stage&gt;/&lt;split&gt;.mask.bin</c>: one byte per token of
/// each sequence, sequences in shard order. <see cref="Open"/> returns plain <see cref="PackedSequences"/> for splits
/// without a mask (pretrain stages), so callers open every stage the same way.
/// </summary>
public sealed class LossMaskedSequences : ILossMaskedSequences, IDisposable
{
    private readonly PackedSequences _tokens;
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;

    private LossMaskedSequences(PackedSequences tokens, string maskPath)
    {
        _tokens = tokens;
        var expected = tokens.Count * (tokens.SequenceLength + 1);
        var actual = new FileInfo(maskPath).Length;
        if (actual != expected)
            throw new InvalidDataException($"{maskPath} holds {actual} bytes; {tokens.Count} sequences of {tokens.SequenceLength + 1} tokens need {expected}.");
        if (expected == 0) return; // an empty file cannot be mapped
        _file = MemoryMappedFile.CreateFromFile(maskPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
    }

    public int SequenceLength => _tokens.SequenceLength;
    public long Count => _tokens.Count;
    public int VocabSize => _tokens.VocabSize;

    public static string MaskFileName(string split) => $"{split}.mask.bin";

    /// <summary>Opens one split of one stage; masked when the data stage wrote a loss mask for it.</summary>
    /// <param name="split"><see cref="DataSplit.Train"/> or <see cref="DataSplit.Validation"/>.</param>
    public static IPackedSequences Open(string dataDirectory, string stage, string split)
    {
        var tokens = PackedSequences.Open(dataDirectory, stage, split);
        var maskPath = Path.Combine(dataDirectory, stage, MaskFileName(split));
        if (!File.Exists(maskPath)) return tokens;
        try
        {
            return new LossMaskedSequences(tokens, maskPath);
        }
        catch
        {
            tokens.Dispose();
            throw;
        }
    }

    public void Read(long index, Span<int> destination) => _tokens.Read(index, destination);

    public void ReadLossMask(long index, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var width = SequenceLength + 1;
        if (destination.Length < width)
            throw new ArgumentException($"The destination must hold {width} bytes.", nameof(destination));
        unsafe
        {
            // A pointer copy, as PackedSequences does: ReadArray would cost an array per call on the training hot path.
            byte* pointer = null;
            var handle = _view!.SafeMemoryMappedViewHandle;
            handle.AcquirePointer(ref pointer);
            try
            {
                new ReadOnlySpan<byte>(pointer + _view.PointerOffset + index * width, width).CopyTo(destination);
            }
            finally
            {
                handle.ReleasePointer();
            }
        }
    }

    public void Dispose()
    {
        _view?.Dispose();
        _file?.Dispose();
        _tokens.Dispose();
    }
}
