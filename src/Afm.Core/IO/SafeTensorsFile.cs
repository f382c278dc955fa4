using System.Buffers.Binary;
using System.Text.Json;

namespace Afm.Core.IO;

/// <summary>
/// The raw content of a safetensors file: every tensor's dtype, shape and bytes, and the header's metadata.
/// The one parser of the format: the exporter and the adapter reader use it without libtorch, and Afm.Training's
/// checkpoint reader turns its entries into tensors. (Written by hand: no safetensors package restores here.)
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
        if (file.Length < 8) throw new InvalidDataException($"{path}: too short to be a safetensors file.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8)) throw new InvalidDataException($"{path}: header length {headerLength} exceeds the file.");
        int dataStart = 8 + (int)headerLength;
        using var header = JsonDocument.Parse(file.AsMemory(8, (int)headerLength));

        var tensors = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var pair in entry.Value.EnumerateObject()) metadata[pair.Name] = pair.Value.GetString() ?? "";
                continue;
            }
            var dtype = entry.Value.GetProperty("dtype").GetString() ?? "";
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (offsets.Length != 2) throw new InvalidDataException($"{path}: bad data_offsets for '{entry.Name}'.");
            long begin = dataStart + offsets[0], end = dataStart + offsets[1];
            if (end > file.Length || begin > end) throw new InvalidDataException($"{path}: '{entry.Name}' lies outside the file.");
            tensors[entry.Name] = new Entry(dtype, shape, file.AsMemory((int)begin, (int)(end - begin)));
        }
        return new SafeTensorsFile(path, tensors, metadata);
    }

    /// <summary>The tensor <paramref name="name"/>, which must have <paramref name="dtype"/>.</summary>
    public Entry Get(string name, string dtype)
    {
        if (!Tensors.TryGetValue(name, out var entry)) throw new InvalidDataException($"{Path}: there is no tensor '{name}'.");
        if (entry.DType != dtype) throw new InvalidDataException($"{Path}: '{name}' is {entry.DType}, not {dtype}.");
        return entry;
    }
}
