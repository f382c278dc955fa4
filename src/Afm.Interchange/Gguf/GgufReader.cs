using System.Text;

namespace Afm.Interchange.Gguf;

/// <summary>
/// Reads a GGUF v3 file back: its metadata and its tensors (type, dimensions, bytes). Checks what the format
/// promises (magic, version, aligned offsets inside the file, byte counts of the types written here), so a test or
/// a tool can tell a well-formed file from a merely loadable one.
/// </summary>
public sealed class GgufReader
{
    private GgufReader(IReadOnlyDictionary<string, GgufValue> metadata, IReadOnlyList<GgufTensor> tensors)
    {
        Metadata = metadata;
        Tensors = tensors;
    }

    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }
    public IReadOnlyList<GgufTensor> Tensors { get; }

    public GgufTensor Tensor(string name) =>
        Tensors.FirstOrDefault(t => t.Name == name) ?? throw new KeyNotFoundException($"The GGUF file has no tensor '{name}'.");

    public static GgufReader Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream);
    }

    public static GgufReader Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (reader.ReadUInt32() != GgufFormat.Magic) throw new InvalidDataException("Not a GGUF file (bad magic).");
        uint version = reader.ReadUInt32();
        if (version != GgufFormat.Version) throw new InvalidDataException($"GGUF version {version}; only {GgufFormat.Version} is read.");
        ulong tensorCount = reader.ReadUInt64(), metadataCount = reader.ReadUInt64();
        var metadata = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
        for (ulong i = 0; i < metadataCount; i++)
        {
            var key = ReadString(reader);
            var type = (GgufValueType)reader.ReadUInt32();
            metadata[key] = ReadValue(reader, type);
        }
        var infos = new List<(string Name, long[] Dimensions, GgmlType Type, long Offset)>();
        for (ulong i = 0; i < tensorCount; i++)
        {
            var name = ReadString(reader);
            uint dims = reader.ReadUInt32();
            var dimensions = new long[dims];
            for (int d = 0; d < dims; d++) dimensions[d] = checked((long)reader.ReadUInt64());
            var type = (GgmlType)reader.ReadUInt32();
            long offset = checked((long)reader.ReadUInt64());
            if (offset % GgufFormat.Alignment != 0) throw new InvalidDataException($"Tensor '{name}' starts at {offset}, not a multiple of {GgufFormat.Alignment}.");
            infos.Add((name, dimensions, type, offset));
        }
        long start = GgufWriter.Align(stream.Position);
        var tensors = new List<GgufTensor>();
        foreach (var (name, dimensions, type, offset) in infos)
        {
            long bytes = GgmlBlocks.ByteCount(type, dimensions);
            if (start + offset + bytes > stream.Length) throw new InvalidDataException($"Tensor '{name}' lies outside the file.");
            stream.Position = start + offset;
            tensors.Add(new GgufTensor(name, dimensions, type, reader.ReadBytes(checked((int)bytes))));
        }
        return new GgufReader(metadata, tensors);
    }

    private static string ReadString(BinaryReader reader)
    {
        ulong length = reader.ReadUInt64();
        if (length > (ulong)(reader.BaseStream.Length - reader.BaseStream.Position)) throw new InvalidDataException("A GGUF string runs past the end of the file.");
        return Encoding.UTF8.GetString(reader.ReadBytes((int)length));
    }

    private static GgufValue ReadValue(BinaryReader reader, GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => new(type, reader.ReadByte()),
        GgufValueType.Int8 => new(type, reader.ReadSByte()),
        GgufValueType.UInt16 => new(type, reader.ReadUInt16()),
        GgufValueType.Int16 => new(type, reader.ReadInt16()),
        GgufValueType.UInt32 => new(type, reader.ReadUInt32()),
        GgufValueType.Int32 => new(type, reader.ReadInt32()),
        GgufValueType.Float32 => new(type, reader.ReadSingle()),
        GgufValueType.Bool => new(type, reader.ReadByte() != 0),
        GgufValueType.String => new(type, ReadString(reader)),
        GgufValueType.UInt64 => new(type, reader.ReadUInt64()),
        GgufValueType.Int64 => new(type, reader.ReadInt64()),
        GgufValueType.Float64 => new(type, reader.ReadDouble()),
        GgufValueType.Array => ReadArray(reader),
        _ => throw new InvalidDataException($"Unknown GGUF value type {(uint)type}."),
    };

    private static GgufValue ReadArray(BinaryReader reader)
    {
        var element = (GgufValueType)reader.ReadUInt32();
        ulong count = reader.ReadUInt64();
        if (count > (ulong)(reader.BaseStream.Length - reader.BaseStream.Position)) throw new InvalidDataException("A GGUF array runs past the end of the file.");
        var items = new List<object>((int)count);
        for (ulong i = 0; i < count; i++) items.Add(ReadValue(reader, element).Value);
        object value = element switch
        {
            GgufValueType.String => items.Cast<string>().ToArray(),
            GgufValueType.Int32 => items.Cast<int>().ToArray(),
            GgufValueType.Float32 => items.Cast<float>().ToArray(),
            _ => items.ToArray(),
        };
        return new GgufValue(GgufValueType.Array, value, element);
    }
}
