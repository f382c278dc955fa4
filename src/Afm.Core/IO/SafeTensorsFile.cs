namespace Afm.Core.IO;

/// <summary>
/// The raw content of a safetensors file: every tensor's dtype, shape and bytes, and the header's metadata.
/// The one parser of the format: the exporter and the adapter reader use it without libtorch, and Afm.Training's
/// checkpoint reader turns its entries into tensors. (Written by hand: no safetensors package restores here.) It holds the
/// whole file in memory; <see cref="SafeTensorsReader"/> reads a large file one tensor at a time. Both parse with
/// <see cref="SafeTensorsHeader"/>.
/// </summary>
public sealed class SafeTensorsFile
{
    public sealed record Entry(string DType, long[] Shape, ReadOnlyMemory<byte> Bytes);

    private SafeTensorsFile(string path, Dictionary<string, Entry> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Path { get; }
    public IReadOnlyDictionary<string, Entry> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsFile Read(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        using var stream = new MemoryStream(file, writable: false);
        var header = SafeTensorsHeader.Read(stream, path);
        var tensors = header.Tensors.ToDictionary(t => t.Key,
            t => new Entry(t.Value.DType, t.Value.Shape, file.AsMemory((int)t.Value.Begin, (int)t.Value.ByteCount)), StringComparer.Ordinal);
        return new SafeTensorsFile(path, tensors, new Dictionary<string, string>(header.Metadata, StringComparer.Ordinal));
    }

    /// <summary>The tensor <paramref name="name"/>, which must have <paramref name="dtype"/>.</summary>
    public Entry Get(string name, string dtype)
    {
        if (!Tensors.TryGetValue(name, out var entry)) throw new InvalidDataException($"{Path}: there is no tensor '{name}'.");
        if (entry.DType != dtype) throw new InvalidDataException($"{Path}: '{name}' is {entry.DType}, not {dtype}.");
        return entry;
    }
}
