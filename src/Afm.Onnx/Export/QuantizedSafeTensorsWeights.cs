using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Onnx.Export;

/// <summary>
/// Reads the quantize stage's weights file (storage convention of specs/quantization.md, version 1) into a
/// <see cref="DecoderModel"/> whose weights keep their stored form: packed indices, LUTs and scales go into the
/// graph as they are, and <see cref="WeightLowering"/> expands them with standard ops. Reads bytes only
/// (Afm.Compression's reader returns TorchSharp tensors, and the exporter must not load libtorch).
/// </summary>
public static class QuantizedSafeTensorsWeights
{
    public const string FormatVersion = "1";
    private const string VersionKey = "afm.quantization.version";
    private const string TensorKeyPrefix = "afm.tensor.";

    public static DecoderModel Load(ArchitectureSpec architecture, string path)
    {
        var file = SafeTensorsFile.Read(path);
        if (!file.Metadata.TryGetValue(VersionKey, out var version) || version != FormatVersion)
            throw new InvalidDataException($"{path} is not an AFM quantized weights file of format {FormatVersion}.");
        var weights = new SortedDictionary<string, ExportWeight>(StringComparer.Ordinal);
        foreach (var (key, json) in file.Metadata.Where(m => m.Key.StartsWith(TensorKeyPrefix, StringComparison.Ordinal)))
        {
            var name = key[TensorKeyPrefix.Length..];
            weights[name] = Parse(file, name, JsonNode.Parse(json)!.AsObject());
        }
        return new DecoderModel(architecture, SafeTensorsWeights.RopeBase(file, architecture), weights);
    }

    private static ExportWeight Parse(SafeTensorsFile file, string name, JsonObject description)
    {
        long[] shape = description["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        int Int(string field) => description[field]?.GetValue<int>() ?? throw new InvalidDataException($"{file.Path}: '{name}' has no '{field}'.");
        byte[] Packed(int bits)
        {
            var bytes = file.Get(name + ".indices", "U8").Bytes.ToArray();
            if (bits is < 1 or > 8 || bytes.LongLength != (count * bits + 7) / 8)
                throw new InvalidDataException($"{file.Path}: '{name}.indices' has {bytes.Length} bytes, not {count} indices of {bits} bits.");
            return bytes;
        }

        var format = description["format"]?.GetValue<string>();
        ExportWeight weight = format switch
        {
            "palettize" => Palettized(file, name, shape, Int("bits"), Int("group_size"), description["lut"]?.GetValue<string>(), Packed(Int("bits"))),
            "uniform" => new UniformWeight(shape, Int("bits"), Int("block_size"), Packed(Int("bits")),
                Halves(file.Get(name + ".scale", "F16")), Halves(file.Get(name + ".offset", "F16"))),
            "int8-per-channel" => new Int8ChannelWeight(shape, MemoryMarshal.Cast<byte, sbyte>(file.Get(name + ".qweight", "I8").Bytes.Span).ToArray(),
                Halves(file.Get(name + ".scale", "F16"))),
            "float" => new FloatWeight(MemoryMarshal.Cast<byte, float>(file.Get(name, "F32").Bytes.Span).ToArray(), shape).Validate(name),
            _ => throw new InvalidDataException($"{file.Path}: '{name}' has unknown format '{format}'."),
        };
        return weight;
    }

    private static PalettizedWeight Palettized(SafeTensorsFile file, string name, long[] shape, int bits, int groupSize, string? lutType, byte[] packed)
    {
        long groups = (shape[0] + groupSize - 1) / groupSize, entries = 1L << bits;
        var weight = lutType switch
        {
            "fp16" => new PalettizedWeight(shape, bits, groupSize, packed, file.Get(name + ".lut", "F16").Bytes.ToArray(), null),
            "int8" => new PalettizedWeight(shape, bits, groupSize, packed, file.Get(name + ".lut", "I8").Bytes.ToArray(), Halves(file.Get(name + ".lut_scale", "F16"))),
            _ => throw new InvalidDataException($"{file.Path}: '{name}' has unknown LUT type '{lutType}'."),
        };
        long lutEntries = weight.LutScale is null ? weight.Lut.Length / 2 : weight.Lut.Length;
        if (lutEntries != groups * entries || (weight.LutScale is { } s && s.Length != groups))
            throw new InvalidDataException($"{file.Path}: the LUT of '{name}' does not have {groups} groups of {entries} entries.");
        return weight;
    }

    private static Half[] Halves(SafeTensorsFile.Entry entry) => MemoryMarshal.Cast<byte, Half>(entry.Bytes.Span).ToArray();
}
