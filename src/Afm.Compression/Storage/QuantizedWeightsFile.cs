using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Training.Checkpoints;
using static TorchSharp.torch;

namespace Afm.Compression.Storage;

/// <summary>
/// The quantized weights as one safetensors file (specs/quantization.md, "Storage convention"). For a weight
/// named N the file holds, by format:
///   palettize: N.indices U8 [packed bytes], N.lut F16 [groups, 2^bits] (int8 LUT: N.lut I8 + N.lut_scale F16 [groups])
///   uniform:   N.indices U8 [packed bytes], N.scale F16 [blocks], N.offset F16 [blocks]
///   int8:      N.qweight I8 [rows, cols], N.scale F16 [rows]
///   float:     N F32 (its original shape)
/// and the metadata entry "afm.tensor.N" describes it as JSON (format, shape, bits, group_size/block_size, axis).
/// </summary>
public static class QuantizedWeightsFile
{
    public const string FormatVersion = "1";
    public const string VersionKey = "afm.quantization.version";
    public const string TensorKeyPrefix = "afm.tensor.";

    public static void Write(string path, IEnumerable<QuantizedTensor> weights, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        var tensors = new List<(string, Tensor)>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [VersionKey] = FormatVersion };
        foreach (var (key, value) in extraMetadata ?? new Dictionary<string, string>()) metadata[key] = value;
        try
        {
            foreach (var weight in weights)
            {
                metadata[TensorKeyPrefix + weight.Name] = Describe(weight);
                tensors.AddRange(Arrays(weight));
            }
            SafeTensors.Write(path, tensors, metadata);
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    public static (List<QuantizedTensor> Weights, Dictionary<string, string> Metadata) Read(string path)
    {
        var (tensors, metadata) = SafeTensors.Read(path);
        try
        {
            if (!metadata.TryGetValue(VersionKey, out var version) || version != FormatVersion)
                throw new InvalidDataException($"{path} is not an AFM quantized weights file of format {FormatVersion}.");
            var weights = new List<QuantizedTensor>();
            foreach (var (key, json) in metadata.Where(m => m.Key.StartsWith(TensorKeyPrefix, StringComparison.Ordinal)).OrderBy(m => m.Key, StringComparer.Ordinal))
                weights.Add(Parse(key[TensorKeyPrefix.Length..], JsonNode.Parse(json)!.AsObject(), tensors));
            return (weights, metadata);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Every weight dequantized to float32 under its model name: the base exactly as the artifact holds it.</summary>
    public static Dictionary<string, (long[] Shape, float[] Values)> Dequantize(string path) =>
        Read(path).Weights.ToDictionary(w => w.Name, w => (w.Shape, w.Dequantize()), StringComparer.Ordinal);

    private static string Describe(QuantizedTensor weight)
    {
        var node = new JsonObject { ["format"] = Format(weight), ["shape"] = new JsonArray(weight.Shape.Select(d => (JsonNode)d).ToArray()) };
        switch (weight)
        {
            case PalettizedTensor p:
                node["bits"] = p.IndexBits; node["group_size"] = p.GroupSize; node["axis"] = 0; node["lut"] = p.LutInt8 is null ? "fp16" : "int8";
                break;
            case UniformTensor u:
                node["bits"] = u.IndexBits; node["block_size"] = u.BlockSize;
                break;
            case Int8ChannelTensor:
                node["axis"] = 0;
                break;
        }
        return node.ToJsonString();
    }

    private static string Format(QuantizedTensor weight) => weight switch
    {
        PalettizedTensor => "palettize", UniformTensor => "uniform", Int8ChannelTensor => "int8-per-channel", FloatTensor => "float",
        _ => throw new NotSupportedException(weight.GetType().Name),
    };

    private static IEnumerable<(string, Tensor)> Arrays(QuantizedTensor weight)
    {
        string n = weight.Name;
        switch (weight)
        {
            case PalettizedTensor p:
                yield return (n + ".indices", tensor(BitPacking.Pack(p.Indices, p.IndexBits)));
                if (p.LutInt8 is null) yield return (n + ".lut", Half(p.Lut, [p.Groups, p.Entries]));
                else
                {
                    yield return (n + ".lut", tensor(p.LutInt8, [p.Groups, p.Entries]));
                    yield return (n + ".lut_scale", Half(p.LutScale!, [p.Groups]));
                }
                break;
            case UniformTensor u:
                yield return (n + ".indices", tensor(BitPacking.Pack(u.Indices, u.IndexBits)));
                yield return (n + ".scale", Half(u.Scale, [u.Blocks]));
                yield return (n + ".offset", Half(u.Offset, [u.Blocks]));
                break;
            case Int8ChannelTensor q:
                yield return (n + ".qweight", tensor(q.Values, q.Shape));
                yield return (n + ".scale", Half(q.Scale, [q.Rows]));
                break;
            case FloatTensor f:
                yield return (n, tensor(f.Values, f.Shape));
                break;
        }
    }

    /// <summary>The values are fp16-exact already, so this conversion is exact.</summary>
    private static Tensor Half(float[] values, long[] shape)
    {
        using var single = tensor(values, shape);
        return single.to_type(ScalarType.Float16);
    }

    private static QuantizedTensor Parse(string name, JsonObject d, Dictionary<string, Tensor> tensors)
    {
        long[] shape = d["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        Tensor Get(string suffix) => tensors.TryGetValue(name + suffix, out var t) ? t
            : throw new InvalidDataException($"Quantized weight '{name}' has no tensor '{name + suffix}'.");
        switch (d["format"]!.GetValue<string>())
        {
            case "palettize":
            {
                int bits = d["bits"]!.GetValue<int>();
                var indices = BitPacking.Unpack(Get(".indices").data<byte>().ToArray(), count, bits);
                if (d["lut"]!.GetValue<string>() == "fp16")
                    return new PalettizedTensor(name, shape, bits, d["group_size"]!.GetValue<int>(), indices, Floats(Get(".lut")), null, null);
                var lutInt8 = Get(".lut").data<sbyte>().ToArray();
                var scales = Floats(Get(".lut_scale"));
                int entries = 1 << bits;
                var lut = lutInt8.Select((q, i) => q * scales[i / entries]).ToArray();
                return new PalettizedTensor(name, shape, bits, d["group_size"]!.GetValue<int>(), indices, lut, lutInt8, scales);
            }
            case "uniform":
            {
                int bits = d["bits"]!.GetValue<int>();
                var indices = BitPacking.Unpack(Get(".indices").data<byte>().ToArray(), count, bits);
                return new UniformTensor(name, shape, bits, d["block_size"]!.GetValue<int>(), indices, Floats(Get(".scale")), Floats(Get(".offset")));
            }
            case "int8-per-channel":
                return new Int8ChannelTensor(name, shape, Get(".qweight").data<sbyte>().ToArray(), Floats(Get(".scale")));
            case "float":
                return new FloatTensor(name, shape, Floats(Get("")));
            default:
                throw new InvalidDataException($"Quantized weight '{name}' has unknown format {d["format"]}.");
        }
    }

    private static float[] Floats(Tensor t)
    {
        using var single = t.to_type(ScalarType.Float32);
        return single.data<float>().ToArray();
    }
}
