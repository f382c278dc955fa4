using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Training.Checkpoints;
using static TorchSharp.torch;

namespace Afm.Compression.Storage;

/// <summary>
/// The quantized weights as one safetensors file (specs/quantization.md, "Storage convention"). The format itself
/// (metadata JSON, array names, dtypes and shapes) is <see cref="QuantizedTensorDescription"/> in Afm.Core, shared
/// with the exporter; this class turns <see cref="QuantizedTensor"/>s into those arrays and back.
/// </summary>
public static class QuantizedWeightsFile
{
    public static void Write(string path, IEnumerable<QuantizedTensor> weights, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        var tensors = new List<(string, Tensor)>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [QuantizedTensorDescription.VersionKey] = QuantizedTensorDescription.FormatVersion };
        foreach (var (key, value) in extraMetadata ?? new Dictionary<string, string>()) metadata[key] = value;
        try
        {
            foreach (var weight in weights)
            {
                var description = Describe(weight);
                metadata[description.MetadataKey] = description.ToJson();
                tensors.AddRange(Arrays(weight, description));
            }
            SafeTensors.Write(path, tensors, metadata);
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    /// <summary>Every weight as stored, and the file's metadata. Reads bytes only (no libtorch).</summary>
    public static (List<QuantizedTensor> Weights, Dictionary<string, string> Metadata) Read(string path)
    {
        var file = QuantizedSafeTensorsFile.Read(path);
        return (file.Weights.Select(w => Parse(file, w)).ToList(), new Dictionary<string, string>(file.File.Metadata, StringComparer.Ordinal));
    }

    /// <summary>Every weight dequantized to float32 under its model name: the base exactly as the artifact holds it.</summary>
    public static Dictionary<string, (long[] Shape, float[] Values)> Dequantize(string path) =>
        Read(path).Weights.ToDictionary(w => w.Name, w => (w.Shape, w.Dequantize()), StringComparer.Ordinal);

    private static QuantizedTensorDescription Describe(QuantizedTensor weight) => weight switch
    {
        PalettizedTensor p => QuantizedTensorDescription.Palettized(p.Name, p.Shape, p.IndexBits, p.GroupSize, p.LutInt8 is null ? LutType.Fp16 : LutType.Int8),
        UniformTensor u => QuantizedTensorDescription.Uniform(u.Name, u.Shape, u.IndexBits, u.BlockSize),
        Int8ChannelTensor q => QuantizedTensorDescription.Int8PerChannel(q.Name, q.Shape),
        FloatTensor f => QuantizedTensorDescription.Float(f.Name, f.Shape),
        _ => throw new NotSupportedException(weight.GetType().Name),
    };

    private static IEnumerable<(string, Tensor)> Arrays(QuantizedTensor weight, QuantizedTensorDescription d)
    {
        switch (weight)
        {
            case PalettizedTensor p:
                yield return (d.Indices.Name, tensor(BitPacking.Pack(p.Indices, p.IndexBits)));
                if (p.LutInt8 is null) yield return (d.LutArray.Name, Half(p.Lut, d.LutArray.Shape));
                else
                {
                    yield return (d.LutArray.Name, tensor(p.LutInt8, d.LutArray.Shape));
                    yield return (d.LutScale.Name, Half(p.LutScale!, d.LutScale.Shape));
                }
                break;
            case UniformTensor u:
                yield return (d.Indices.Name, tensor(BitPacking.Pack(u.Indices, u.IndexBits)));
                yield return (d.Scale.Name, Half(u.Scale, d.Scale.Shape));
                yield return (d.Offset.Name, Half(u.Offset, d.Offset.Shape));
                break;
            case Int8ChannelTensor q:
                yield return (d.QWeight.Name, tensor(q.Values, d.QWeight.Shape));
                yield return (d.Scale.Name, Half(q.Scale, d.Scale.Shape));
                break;
            case FloatTensor f:
                yield return (d.Values.Name, tensor(f.Values, d.Values.Shape));
                break;
        }
    }

    /// <summary>The values are fp16-exact already, so this conversion is exact.</summary>
    private static Tensor Half(float[] values, long[] shape)
    {
        using var single = tensor(values, shape);
        return single.to_type(ScalarType.Float16);
    }

    private static QuantizedTensor Parse(QuantizedSafeTensorsFile file, QuantizedTensorDescription d)
    {
        switch (d.Format)
        {
            case QuantizedFormat.Palettize:
            {
                var indices = BitPacking.Unpack(file.PackedIndices(d), d.Count, d.Bits);
                if (d.Lut == LutType.Fp16)
                    return new PalettizedTensor(d.Name, d.Shape, d.Bits, d.GroupSize, indices, Floats(file.LutFp16(d)), null, null);
                var lutInt8 = file.LutInt8(d);
                var scales = Floats(file.LutScale(d));
                var lut = lutInt8.Select((q, i) => q * scales[i / d.Entries]).ToArray();
                return new PalettizedTensor(d.Name, d.Shape, d.Bits, d.GroupSize, indices, lut, lutInt8, scales);
            }
            case QuantizedFormat.Uniform:
                return new UniformTensor(d.Name, d.Shape, d.Bits, d.BlockSize, BitPacking.Unpack(file.PackedIndices(d), d.Count, d.Bits),
                    Floats(file.Scale(d)), Floats(file.Offset(d)));
            case QuantizedFormat.Int8PerChannel:
                return new Int8ChannelTensor(d.Name, d.Shape, file.QWeight(d), Floats(file.Scale(d)));
            default:
                return new FloatTensor(d.Name, d.Shape, file.Values(d));
        }
    }

    /// <summary>fp16 to float32 is exact.</summary>
    private static float[] Floats(Half[] values) => Array.ConvertAll(values, h => (float)h);
}
