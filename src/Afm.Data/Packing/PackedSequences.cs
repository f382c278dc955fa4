using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace Afm.Data.Packing;

/// <summary>
/// Reads one split of one stage of a data directory, through memory-mapped shard files (the OS pages data in
/// on demand, so opening a multi-GB split costs nothing). <see cref="Read"/> is safe to call from several threads.
/// </summary>
public sealed class PackedSequences : IPackedSequences, IDisposable
{
    private readonly MemoryMappedFile[] _files;
    private readonly MemoryMappedViewAccessor[] _views;
    private readonly long _perShard;
    private readonly int _bytesPerToken;

    private PackedSequences(string dataDirectory, DataIndex index, StageData stage, SplitData split)
    {
        SequenceLength = stage.SequenceLength;
        VocabSize = index.VocabSize;
        Count = split.Sequences;
        _perShard = split.SequencesPerShard;
        _bytesPerToken = index.BytesPerToken;
        _files = split.Shards
            .Select(s => MemoryMappedFile.CreateFromFile(Path.Combine(dataDirectory, s), FileMode.Open, null, 0, MemoryMappedFileAccess.Read))
            .ToArray();
        _views = _files.Select(f => f.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read)).ToArray();
    }

    public int SequenceLength { get; }
    public long Count { get; }
    public int VocabSize { get; }

    /// <param name="split"><see cref="DataSplit.Train"/> or <see cref="DataSplit.Validation"/>.</param>
    public static PackedSequences Open(string dataDirectory, string stage, string split)
    {
        var index = DataIndex.Load(dataDirectory);
        var stageData = index.Stage(stage);
        return new PackedSequences(dataDirectory, index, stageData, stageData.Split(split));
    }

    public void Read(long index, Span<int> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var tokens = SequenceLength + 1;
        if (destination.Length < tokens)
            throw new ArgumentException($"The destination must hold {tokens} ids.", nameof(destination));

        var view = _views[index / _perShard];
        var offset = index % _perShard * tokens * _bytesPerToken;
        Span<byte> bytes = tokens * _bytesPerToken <= 16384 ? stackalloc byte[tokens * _bytesPerToken] : new byte[tokens * _bytesPerToken];
        ReadBytes(view, offset, bytes);
        for (var i = 0; i < tokens; i++)
        {
            destination[i] = _bytesPerToken == 2
                ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..])
                : (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]);
        }
    }

    private static unsafe void ReadBytes(MemoryMappedViewAccessor view, long offset, Span<byte> destination)
    {
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        try
        {
            new ReadOnlySpan<byte>(pointer + view.PointerOffset + offset, destination.Length).CopyTo(destination);
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    public void Dispose()
    {
        foreach (var view in _views)
            view.Dispose();
        foreach (var file in _files)
            file.Dispose();
    }
}
