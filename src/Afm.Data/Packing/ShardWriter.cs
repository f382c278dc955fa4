using System.Buffers.Binary;

namespace Afm.Data.Packing;

/// <summary>
/// Appends sequences to numbered shard files ("train-00000.bin", ...), each a flat little-endian array of
/// token ids (uint16 or uint32), starting a new shard when the next sequence would pass the size cap. Shards hold
/// whole sequences only, so sequence i lives in shard i / SequencesPerShard.
/// </summary>
internal sealed class ShardWriter : IDisposable
{
    private readonly string _directory;
    private readonly string _prefix;
    private readonly int _bytesPerToken;
    private readonly byte[] _buffer;
    private FileStream? _current;
    private long _inCurrent;

    public ShardWriter(string directory, string prefix, int sequenceTokens, int bytesPerToken, long shardBytes)
    {
        _directory = directory;
        _prefix = prefix;
        _bytesPerToken = bytesPerToken;
        _buffer = new byte[sequenceTokens * bytesPerToken];
        SequencesPerShard = Math.Max(1, shardBytes / _buffer.Length);
    }

    public long SequencesPerShard { get; }
    public List<string> ShardFiles { get; } = new();
    public long Count { get; private set; }

    public void Write(ReadOnlySpan<int> sequence)
    {
        if (_current is null || _inCurrent == SequencesPerShard)
            StartShard();
        for (var i = 0; i < sequence.Length; i++)
        {
            if (_bytesPerToken == 2)
                BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(i * 2), checked((ushort)sequence[i]));
            else
                BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(i * 4), checked((uint)sequence[i]));
        }
        _current!.Write(_buffer);
        _inCurrent++;
        Count++;
    }

    private void StartShard()
    {
        Close();
        var name = $"{_prefix}-{ShardFiles.Count:D5}.bin";
        ShardFiles.Add(name);
        // Written under a temporary name; Dispose renames, so a killed run leaves no shard that looks complete.
        _current = new FileStream(Path.Combine(_directory, name + ".tmp"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        _inCurrent = 0;
    }

    private void Close()
    {
        if (_current is null)
            return;
        var temp = _current.Name;
        _current.Dispose();
        File.Move(temp, temp[..^".tmp".Length], overwrite: true);
        _current = null;
    }

    public void Dispose() => Close();
}
