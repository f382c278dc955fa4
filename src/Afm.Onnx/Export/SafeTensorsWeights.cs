using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Afm.Core.Spec;

namespace Afm.Onnx.Export;

/// <summary>
/// Reads a float32 safetensors file (as the train stage writes it) into a <see cref="DecoderModel"/>.
/// Written here rather than reusing Afm.Training's reader because that one returns TorchSharp tensors, and the
/// exporter must not load libtorch just to copy bytes.
/// </summary>
public static class SafeTensorsWeights
{
    public static DecoderModel Load(ArchitectureSpec architecture, string path)
    {
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < 8) throw new InvalidDataException($"{path}: too short to be a safetensors file.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8)) throw new InvalidDataException($"{path}: header length {headerLength} exceeds the file.");
        int dataStart = 8 + (int)headerLength;
        using var header = JsonDocument.Parse(file.AsMemory(8, (int)headerLength));

        var weights = new SortedDictionary<string, ExportWeight>(StringComparer.Ordinal);
        double ropeBase = architecture.RopeBase;
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                if (entry.Value.TryGetProperty("rope_base", out var rope))
                    ropeBase = double.Parse(rope.GetString()!, CultureInfo.InvariantCulture);
                // The graph rotates pairs (i, i + d/2); weights trained with another pairing would export wrong silently.
                if (entry.Value.TryGetProperty("rope_style", out var style) && style.GetString() != "rotate_half")
                    throw new InvalidDataException($"{path}: RoPE style '{style.GetString()}' is not the 'rotate_half' the exporter writes.");
                continue;
            }
            var dtype = entry.Value.GetProperty("dtype").GetString();
            if (dtype != "F32") throw new InvalidDataException($"{path}: '{entry.Name}' is {dtype}; the exporter reads float32 weights.");
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            long begin = dataStart + offsets[0], end = dataStart + offsets[1];
            if (end > file.Length || begin > end) throw new InvalidDataException($"{path}: '{entry.Name}' lies outside the file.");
            var values = MemoryMarshal.Cast<byte, float>(file.AsSpan((int)begin, (int)(end - begin))).ToArray();
            weights[entry.Name] = new FloatWeight(values, shape).Validate(entry.Name);
        }
        return new DecoderModel(architecture, ropeBase, weights);
    }
}
