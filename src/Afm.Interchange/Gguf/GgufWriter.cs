using System.Text;

namespace Afm.Interchange.Gguf;

/// <summary>
/// Writes a GGUF v3 file: metadata in the order given, tensors in the order given, each tensor's data at a multiple
/// of <see cref="GgufFormat.Alignment"/> (zero padding), so the same inputs give the same bytes.
/// </summary>
public static class GgufWriter
{
    public static void Write(Stream stream, IReadOnlyList<KeyValuePair<string, GgufValue>> metadata, IReadOnlyList<GgufTensor> tensors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            if (!names.Add(tensor.Name)) throw new ArgumentException($"Tensor '{tensor.Name}' is written twice.");
            long expected = GgmlBlocks.ByteCount(tensor.Type, tensor.Dimensions);
            if (tensor.Data.Length != expected)
                throw new ArgumentException($"Tensor '{tensor.Name}' has {tensor.Data.Length} bytes; {tensor.Type} [{string.Join(",", tensor.Dimensions)}] needs {expected}.");
        }
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, _) in metadata)
            if (!keys.Add(key)) throw new ArgumentException($"Metadata key '{key}' is written twice.");

        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(GgufFormat.Magic);
        writer.Write(GgufFormat.Version);
        writer.Write((ulong)tensors.Count);
        writer.Write((ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteString(writer, key);
            writer.Write((uint)value.Type);
            WriteValue(writer, value);
        }
        long offset = 0;
        foreach (var tensor in tensors)
        {
            WriteString(writer, tensor.Name);
            writer.Write((uint)tensor.Dimensions.Length);
            foreach (var d in tensor.Dimensions) writer.Write((ulong)d);
            writer.Write((uint)tensor.Type);
            writer.Write((ulong)offset);
            offset = Align(offset + tensor.Data.Length);
        }
        writer.Flush();
        Pad(writer, stream.Position);
        long start = stream.Position;
        foreach (var tensor in tensors)
        {
            writer.Write(tensor.Data);
            Pad(writer, stream.Position - start);
        }
        writer.Flush();
    }

    internal static long Align(long position) => (position + GgufFormat.Alignment - 1) / GgufFormat.Alignment * GgufFormat.Alignment;

    private static void Pad(BinaryWriter writer, long position)
    {
        for (long p = position; p < Align(position); p++) writer.Write((byte)0);
    }

    private static void WriteString(BinaryWriter writer, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static void WriteValue(BinaryWriter writer, GgufValue value)
    {
        switch (value.Type)
        {
            case GgufValueType.String: WriteString(writer, (string)value.Value); break;
            case GgufValueType.UInt32: writer.Write((uint)value.Value); break;
            case GgufValueType.Int32: writer.Write((int)value.Value); break;
            case GgufValueType.Float32: writer.Write((float)value.Value); break;
            case GgufValueType.Bool: writer.Write((bool)value.Value ? (byte)1 : (byte)0); break;
            case GgufValueType.Array:
                writer.Write((uint)value.ElementType);
                switch (value.Value)
                {
                    case IReadOnlyList<string> strings:
                        writer.Write((ulong)strings.Count);
                        foreach (var s in strings) WriteString(writer, s);
                        break;
                    case IReadOnlyList<int> ints:
                        writer.Write((ulong)ints.Count);
                        foreach (var i in ints) writer.Write(i);
                        break;
                    case IReadOnlyList<float> floats:
                        writer.Write((ulong)floats.Count);
                        foreach (var f in floats) writer.Write(f);
                        break;
                    default: throw new ArgumentException($"No GGUF array of {value.Value.GetType().Name}.");
                }
                break;
            default: throw new ArgumentException($"GGUF values of type {value.Type} are not written here.");
        }
    }
}
