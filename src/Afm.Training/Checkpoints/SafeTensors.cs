using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;
using Afm.Core.IO;

namespace Afm.Training.Checkpoints;

/// <summary>
/// Reader/writer for the safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// tensor name to {dtype, shape, data_offsets} (offsets relative to the end of the header), then the raw
/// little-endian tensor bytes. Written deterministically: names in ordinal order, data in that order, the
/// header padded with spaces to 8 bytes, metadata keys sorted, so the same weights give the same bytes.
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";

    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing assumes a little-endian host.");
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var duplicate = ordered.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Tensor name '{duplicate.Key}' appears twice.");

        var payloads = ordered.Select(t => t.Tensor.detach().cpu().contiguous()).ToList();
        try
        {
            byte[] header = Header(ordered.Select(t => t.Name).ToList(), payloads, metadata);
            AtomicOutput.WriteFile(path, stream =>
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var payload in payloads) stream.Write(payload.bytes);
            });
        }
        finally
        {
            foreach (var payload in payloads) payload.Dispose();
        }
    }

    /// <summary>Reads every tensor (CPU, not requiring grad) and the string metadata.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        var file = SafeTensorsFile.Read(path);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, entry) in file.Tensors)
        {
            var tensor = empty(entry.Shape, ToScalarType(entry.DType));
            if (tensor.bytes.Length != entry.Bytes.Length)
                throw new InvalidDataException($"{path}: '{name}' has {entry.Bytes.Length} bytes, its shape needs {tensor.bytes.Length}.");
            tensor.bytes = System.Runtime.InteropServices.MemoryMarshal.AsMemory(entry.Bytes).Span;
            tensors[name] = tensor;
        }
        return (tensors, new Dictionary<string, string>(file.Metadata, StringComparer.Ordinal));
    }

    /// <summary>Only the string metadata (no tensor data is read).</summary>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        var header = new byte[checked((int)BinaryPrimitives.ReadUInt64LittleEndian(length))];
        stream.ReadExactly(header);
        using var json = JsonDocument.Parse(header);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (json.RootElement.TryGetProperty(MetadataKey, out var m))
            foreach (var entry in m.EnumerateObject()) metadata[entry.Name] = entry.Value.GetString() ?? "";
        return metadata;
    }

    private static byte[] Header(IReadOnlyList<string> names, IReadOnlyList<Tensor> payloads, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal)) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            for (int i = 0; i < names.Count; i++)
            {
                long size = payloads[i].bytes.Length;
                json.WriteStartObject(names[i]);
                json.WriteString("dtype", ToSafeTensorsDType(payloads[i].dtype));
                json.WriteStartArray("shape");
                foreach (long d in payloads[i].shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + size);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += size;
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the tensor data starts 8-byte aligned (readers may map it directly).
        int padding = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static string ToSafeTensorsDType(ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"safetensors has no dtype for {type}."),
    };

    private static ScalarType ToScalarType(string dtype) => dtype switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new NotSupportedException($"Unsupported safetensors dtype '{dtype}'."),
    };
}
