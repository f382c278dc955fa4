using System.Buffers.Binary;
using System.Text.Json;

namespace Afm.Core.IO;

/// <summary>
/// The header of a safetensors file, parsed from the file's first bytes only and checked against the file's length:
/// every tensor's dtype, shape and absolute byte range, and the string metadata. What every reader of the format
/// starts from (<see cref="SafeTensorsFile"/> reads the whole file after it, <see cref="SafeTensorsReader"/> reads
/// one tensor at a time). A file that lies about its sizes is refused here, before anything is allocated for it.
/// </summary>
public sealed class SafeTensorsHeader
{
    /// <summary>The format's own bound (safetensors' Rust reader refuses larger headers): no header may make us allocate more.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    /// <summary>One tensor: its bytes are <c>[Begin, End)</c> of the file.</summary>
    public sealed record TensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
    {
        public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
        public long ByteCount => End - Begin;
    }

    private SafeTensorsHeader(Dictionary<string, TensorInfo> tensors, Dictionary<string, string> metadata, long dataStart)
    {
        Tensors = tensors;
        Metadata = metadata;
        DataStart = dataStart;
    }

    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public long DataStart { get; }

    /// <summary>Bytes per element of a dtype, or null for a dtype this toolchain does not know.</summary>
    public static int? ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => null,
    };

    /// <summary>Reads and checks the header of the file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed safetensors file; the message says why.</exception>
    public static SafeTensorsHeader Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        return Read(stream, path);
    }

    public static SafeTensorsHeader Read(Stream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8) throw new InvalidDataException($"{path}: {fileLength} bytes is too short to be a safetensors file (it starts with an 8-byte header length).");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)MaxHeaderBytes)
            throw new InvalidDataException($"{path}: the header claims {headerLength} bytes, more than the format's limit of {MaxHeaderBytes}; the file is corrupt or not safetensors.");
        if (headerLength > (ulong)(fileLength - 8))
            throw new InvalidDataException($"{path}: the header claims {headerLength} bytes but the file has only {fileLength - 8} after the length; the file is truncated.");
        var header = new byte[(int)headerLength];
        stream.ReadExactly(header);
        return Parse(header, 8 + (long)headerLength, fileLength, path);
    }

    internal static SafeTensorsHeader Parse(ReadOnlySpan<byte> header, long dataStart, long fileLength, string path)
    {
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the header is not valid JSON ({e.Message}).");
        }
        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: the header is not a JSON object.");
            var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            long dataLength = fileLength - dataStart;
            foreach (var entry in json.RootElement.EnumerateObject())
            {
                if (entry.Name == MetadataKey)
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: {MetadataKey} is not an object.");
                    foreach (var pair in entry.Value.EnumerateObject())
                        metadata[pair.Name] = pair.Value.ValueKind == JsonValueKind.String ? pair.Value.GetString()! : pair.Value.GetRawText();
                    continue;
                }
                tensors[entry.Name] = Tensor(entry, dataStart, dataLength, path);
            }
            return new SafeTensorsHeader(tensors, metadata, dataStart);
        }
    }

    private static TensorInfo Tensor(JsonProperty entry, long dataStart, long dataLength, string path)
    {
        var value = entry.Value;
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: '{entry.Name}' lacks dtype, shape or data_offsets.");
        var dtype = dtypeElement.GetString()!;
        var shape = new long[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeElement.EnumerateArray())
            shape[i++] = d.ValueKind == JsonValueKind.Number && d.TryGetInt64(out var n) && n >= 0 ? n
                : throw new InvalidDataException($"{path}: '{entry.Name}' has a shape entry that is not a non-negative integer.");
        var offsets = offsetsElement.EnumerateArray()
            .Select(o => o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out var n) && n >= 0 ? n
                : throw new InvalidDataException($"{path}: '{entry.Name}' has a data offset that is not a non-negative integer.")).ToArray();
        if (offsets.Length != 2 || offsets[0] > offsets[1])
            throw new InvalidDataException($"{path}: '{entry.Name}' has bad data_offsets (two increasing offsets are needed).");
        if (offsets[1] > dataLength)
            throw new InvalidDataException($"{path}: '{entry.Name}' ends at byte {offsets[1]} of the data, but the file holds only {dataLength}; the file is truncated.");
        // The byte count must follow from the shape; checked in 128-bit arithmetic, so an absurd shape cannot overflow into a match.
        if (ElementSize(dtype) is int size)
        {
            Int128 expected = size;
            foreach (var d in shape)
            {
                expected *= d;
                if (expected > dataLength) break;
            }
            if (expected != offsets[1] - offsets[0])
                throw new InvalidDataException($"{path}: '{entry.Name}' is {dtype} [{string.Join(", ", shape)}], which needs {expected} bytes, but its data_offsets span {offsets[1] - offsets[0]}.");
        }
        return new TensorInfo(entry.Name, dtype, shape, dataStart + offsets[0], dataStart + offsets[1]);
    }
}
