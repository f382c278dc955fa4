using System.Buffers.Binary;
using System.Text.Json;

namespace Afm.Core.IO;

/// <summary>
/// Writes a safetensors file deterministically, one tensor at a time: names in ordinal order, data in that order,
/// metadata keys sorted, the header padded with spaces so the data starts 8-byte aligned. The one writer of the
/// format's header (Afm.Training's tensor writer and the Hugging Face exporter both use it), so the same weights give
/// the same bytes whoever writes them.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>A tensor to write: <paramref name="WriteData"/> must write exactly shape x dtype size bytes.</summary>
    public sealed record Tensor(string Name, string DType, long[] Shape, Action<Stream> WriteData)
    {
        public long ByteCount => Shape.Aggregate((long)(SafeTensorsHeader.ElementSize(DType)
            ?? throw new ArgumentException($"Unknown safetensors dtype '{DType}'.")), (a, d) => checked(a * d));
    }

    /// <summary>Writes the file under a temporary name and renames it (<see cref="AtomicOutput"/>).</summary>
    public static void Write(string path, IEnumerable<Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing assumes a little-endian host.");
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var duplicate = ordered.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Tensor name '{duplicate.Key}' appears twice.");
        byte[] header = Header(ordered, metadata);
        AtomicOutput.WriteFile(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var tensor in ordered)
            {
                long before = stream.Position;
                tensor.WriteData(stream);
                if (stream.Position - before != tensor.ByteCount)
                    throw new InvalidOperationException($"'{tensor.Name}' wrote {stream.Position - before} bytes; its dtype and shape need {tensor.ByteCount}.");
            }
        });
    }

    /// <summary>Writes fp32 values as little-endian bytes (what <see cref="Tensor.WriteData"/> of an F32 tensor usually does).</summary>
    public static void WriteFloat32(Stream stream, ReadOnlySpan<float> values)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing assumes a little-endian host.");
        stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
    }

    private static byte[] Header(IReadOnlyList<Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal)) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var tensor in tensors)
            {
                long size = tensor.ByteCount;
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", tensor.DType);
                json.WriteStartArray("shape");
                foreach (long d in tensor.Shape) json.WriteNumberValue(d);
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
}
