using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Core.Spec;

namespace Afm.Core.IO;

/// <summary>The stored forms of a weight in the quantize stage's file (specs/quantization.md, "Storage convention").</summary>
public enum QuantizedFormat { Palettize, Uniform, Int8PerChannel, Float }

/// <summary>One safetensors array of a stored weight: its name in the file, dtype and shape.</summary>
public sealed record StoredArray(string Name, string DType, long[] Shape);

/// <summary>
/// How one weight of the quantize stage's file is stored: its metadata entry <c>afm.tensor.N</c> (JSON) and the
/// arrays it implies (names, dtypes, shapes). The one place that knows the format, torch-free, so the writer
/// (Afm.Compression) and both readers (Afm.Compression's dequantizer, Afm.Onnx's exporter) cannot drift apart.
/// </summary>
public sealed class QuantizedTensorDescription
{
    public const string FormatVersion = "1";
    public const string VersionKey = "afm.quantization.version";
    public const string MetadataKeyPrefix = "afm.tensor.";

    private QuantizedTensorDescription(string name, QuantizedFormat format, long[] shape, int bits, int groupSize, int blockSize, LutType lut)
    {
        Name = name;
        Format = format;
        Shape = shape;
        Bits = bits;
        GroupSize = groupSize;
        BlockSize = blockSize;
        Lut = lut;
        if (shape.Any(d => d < 0)) throw Invalid(name, $"has a negative dimension in its shape [{string.Join(",", shape)}]");
        if (format is QuantizedFormat.Palettize or QuantizedFormat.Uniform && bits is < 1 or > 8) throw Invalid(name, $"has {bits} index bits, not 1 to 8");
        if (format is QuantizedFormat.Palettize or QuantizedFormat.Int8PerChannel && shape.Length == 0) throw Invalid(name, "has no rows (its shape is empty)");
        if (format == QuantizedFormat.Palettize && groupSize < 1) throw Invalid(name, $"has group_size {groupSize}, not a positive number");
        if (format == QuantizedFormat.Uniform && blockSize < 1) throw Invalid(name, $"has block_size {blockSize}, not a positive number");
    }

    public static QuantizedTensorDescription Palettized(string name, long[] shape, int bits, int groupSize, LutType lut) =>
        new(name, QuantizedFormat.Palettize, shape, bits, groupSize, 0, lut);
    public static QuantizedTensorDescription Uniform(string name, long[] shape, int bits, int blockSize) =>
        new(name, QuantizedFormat.Uniform, shape, bits, 0, blockSize, LutType.Fp16);
    public static QuantizedTensorDescription Int8PerChannel(string name, long[] shape) => new(name, QuantizedFormat.Int8PerChannel, shape, 8, 0, 0, LutType.Fp16);
    public static QuantizedTensorDescription Float(string name, long[] shape) => new(name, QuantizedFormat.Float, shape, 32, 0, 0, LutType.Fp16);

    /// <summary>The model's weight name (N).</summary>
    public string Name { get; }
    public QuantizedFormat Format { get; }
    public long[] Shape { get; }
    /// <summary>Index bits (palettize, uniform); 8 for int8, 32 for float.</summary>
    public int Bits { get; }
    /// <summary>Rows sharing one LUT (palettize only).</summary>
    public int GroupSize { get; }
    /// <summary>Consecutive row-major weights sharing one scale and offset (uniform only).</summary>
    public int BlockSize { get; }
    /// <summary>The LUT's stored type (palettize only).</summary>
    public LutType Lut { get; }

    public string MetadataKey => MetadataKeyPrefix + Name;
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    public long Rows => Shape[0];
    public int Entries => 1 << Bits;
    public long Groups => (Rows + GroupSize - 1) / GroupSize;
    public long Blocks => (Count + BlockSize - 1) / BlockSize;

    /// <summary>Packed indices, LSB first, zero-padded to a whole byte (palettize, uniform).</summary>
    public StoredArray Indices => Only(".indices", "U8", () => [(Count * Bits + 7) / 8], QuantizedFormat.Palettize, QuantizedFormat.Uniform);
    /// <summary>The LUT [groups, 2^bits]: fp16 entries, or int8 entries scaled by <see cref="LutScale"/> (palettize).</summary>
    public StoredArray LutArray => Only(".lut", Lut == LutType.Int8 ? "I8" : "F16", () => [Groups, Entries], QuantizedFormat.Palettize);
    /// <summary>One fp16 scale per group (palettize with an int8 LUT).</summary>
    public StoredArray LutScale => Lut == LutType.Int8 ? Only(".lut_scale", "F16", () => [Groups], QuantizedFormat.Palettize)
        : throw new InvalidOperationException($"'{Name}' has an fp16 LUT, which has no scale.");
    /// <summary>fp16 step per block (uniform) or per row (int8 per channel).</summary>
    public StoredArray Scale => Only(".scale", "F16", () => [Format == QuantizedFormat.Uniform ? Blocks : Rows], QuantizedFormat.Uniform, QuantizedFormat.Int8PerChannel);
    /// <summary>fp16 value of level 0 per block (uniform).</summary>
    public StoredArray Offset => Only(".offset", "F16", () => [Blocks], QuantizedFormat.Uniform);
    /// <summary>The int8 values in the weight's shape (int8 per channel).</summary>
    public StoredArray QWeight => Only(".qweight", "I8", () => Shape, QuantizedFormat.Int8PerChannel);
    /// <summary>The float32 values under the weight's own name (float).</summary>
    public StoredArray Values => Only("", "F32", () => Shape, QuantizedFormat.Float);

    /// <summary>The metadata value, e.g. <c>{"format":"palettize","shape":[64,32],"bits":4,"group_size":16,"axis":0,"lut":"fp16"}</c>.</summary>
    public string ToJson()
    {
        // Field order is part of the file's bytes: files written before this class existed must stay byte-identical.
        var node = new JsonObject { ["format"] = FormatName(Format), ["shape"] = new JsonArray(Shape.Select(d => (JsonNode)d).ToArray()) };
        switch (Format)
        {
            case QuantizedFormat.Palettize:
                node["bits"] = Bits; node["group_size"] = GroupSize; node["axis"] = 0; node["lut"] = Lut == LutType.Int8 ? "int8" : "fp16";
                break;
            case QuantizedFormat.Uniform:
                node["bits"] = Bits; node["block_size"] = BlockSize;
                break;
            case QuantizedFormat.Int8PerChannel:
                node["axis"] = 0;
                break;
        }
        return node.ToJsonString();
    }

    /// <summary>Parses the metadata value of weight <paramref name="name"/>; a malformed one is an <see cref="InvalidDataException"/> naming it.</summary>
    public static QuantizedTensorDescription Parse(string name, string json)
    {
        JsonObject node;
        try { node = JsonNode.Parse(json) as JsonObject ?? throw Invalid(name, "has a description that is not a JSON object"); }
        catch (JsonException e) { throw Invalid(name, $"has a description that is not valid JSON ({e.Message})"); }

        var formatName = Field<string>(node, name, "format");
        var format = FormatOf(formatName) ?? throw Invalid(name, $"has unknown format '{formatName}'");
        var shape = node["shape"] is JsonArray dims ? dims.Select(d => Value<long>(d, name, "shape")).ToArray() : throw Invalid(name, "has no 'shape' array");
        if (node["axis"] is { } axis && Value<int>(axis, name, "axis") != 0) throw Invalid(name, $"is quantized along axis {axis.ToJsonString()}; only axis 0 is stored");
        return format switch
        {
            QuantizedFormat.Palettize => Palettized(name, shape, Field<int>(node, name, "bits"), Field<int>(node, name, "group_size"), LutOf(name, Field<string>(node, name, "lut"))),
            QuantizedFormat.Uniform => Uniform(name, shape, Field<int>(node, name, "bits"), Field<int>(node, name, "block_size")),
            QuantizedFormat.Int8PerChannel => Int8PerChannel(name, shape),
            _ => Float(name, shape),
        };
    }

    /// <summary>The weights a file's metadata describes, in ordinal name order; the metadata must be of <see cref="FormatVersion"/>.</summary>
    public static IReadOnlyList<QuantizedTensorDescription> ReadAll(IReadOnlyDictionary<string, string> metadata, string path)
    {
        if (!metadata.TryGetValue(VersionKey, out var version) || version != FormatVersion)
            throw new InvalidDataException($"{path} is not an AFM quantized weights file of format {FormatVersion}.");
        return metadata.Where(m => m.Key.StartsWith(MetadataKeyPrefix, StringComparison.Ordinal)).OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => Parse(m.Key[MetadataKeyPrefix.Length..], m.Value)).ToList();
    }

    public static string FormatName(QuantizedFormat format) => format switch
    {
        QuantizedFormat.Palettize => "palettize", QuantizedFormat.Uniform => "uniform", QuantizedFormat.Int8PerChannel => "int8-per-channel", _ => "float",
    };

    private static QuantizedFormat? FormatOf(string name) =>
        Enum.GetValues<QuantizedFormat>().Select(f => (QuantizedFormat?)f).FirstOrDefault(f => FormatName(f!.Value) == name);

    private static LutType LutOf(string name, string lut) => lut switch
    {
        "fp16" => LutType.Fp16, "int8" => LutType.Int8, _ => throw Invalid(name, $"has unknown LUT type '{lut}'"),
    };

    // The shape is computed only for the formats that have the array (it divides by a group or block size).
    private StoredArray Only(string suffix, string dtype, Func<long[]> shape, params QuantizedFormat[] formats) =>
        formats.Contains(Format) ? new StoredArray(Name + suffix, dtype, shape())
            : throw new InvalidOperationException($"'{Name}' is stored as {FormatName(Format)}, which has no '{suffix}' array.");

    private static T Field<T>(JsonObject node, string name, string field) =>
        node[field] is { } value ? Value<T>(value, name, field) : throw Invalid(name, $"has no '{field}'");

    private static T Value<T>(JsonNode? value, string name, string field)
    {
        try { return value is JsonValue v ? v.GetValue<T>() : throw new FormatException(); }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw Invalid(name, $"has '{field}' = {value?.ToJsonString() ?? "null"}, not {(typeof(T) == typeof(string) ? "a string" : "an integer")}");
        }
    }

    private static InvalidDataException Invalid(string name, string problem) => new($"Quantized weight '{name}' {problem}.");
}
