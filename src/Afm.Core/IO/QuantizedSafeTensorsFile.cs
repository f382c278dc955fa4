using System.Runtime.InteropServices;

namespace Afm.Core.IO;

/// <summary>
/// The quantize stage's weights file read as bytes (no libtorch): the version check, every weight's
/// <see cref="QuantizedTensorDescription"/>, and its arrays checked against the description (dtype, shape, byte
/// count) and returned in their stored types. Afm.Compression dequantizes them, Afm.Onnx puts them into the graph.
/// </summary>
public sealed class QuantizedSafeTensorsFile
{
    private QuantizedSafeTensorsFile(SafeTensorsFile file, IReadOnlyList<QuantizedTensorDescription> weights)
    {
        File = file;
        Weights = weights;
    }

    /// <summary>The underlying file, for its other metadata (plan, RoPE base, architecture).</summary>
    public SafeTensorsFile File { get; }

    /// <summary>Every stored weight, in ordinal name order.</summary>
    public IReadOnlyList<QuantizedTensorDescription> Weights { get; }

    public static QuantizedSafeTensorsFile Read(string path)
    {
        var file = SafeTensorsFile.Read(path);
        return new QuantizedSafeTensorsFile(file, QuantizedTensorDescription.ReadAll(file.Metadata, path));
    }

    public byte[] PackedIndices(QuantizedTensorDescription weight) => Bytes(weight.Indices).ToArray();
    public Half[] LutFp16(QuantizedTensorDescription weight) => Halves(weight.LutArray);
    public sbyte[] LutInt8(QuantizedTensorDescription weight) => SBytes(weight.LutArray);
    public Half[] LutScale(QuantizedTensorDescription weight) => Halves(weight.LutScale);
    public Half[] Scale(QuantizedTensorDescription weight) => Halves(weight.Scale);
    public Half[] Offset(QuantizedTensorDescription weight) => Halves(weight.Offset);
    public sbyte[] QWeight(QuantizedTensorDescription weight) => SBytes(weight.QWeight);
    public float[] Values(QuantizedTensorDescription weight) => MemoryMarshal.Cast<byte, float>(Bytes(weight.Values).Span).ToArray();

    private Half[] Halves(StoredArray array) => MemoryMarshal.Cast<byte, Half>(Bytes(array).Span).ToArray();
    private sbyte[] SBytes(StoredArray array) => MemoryMarshal.Cast<byte, sbyte>(Bytes(array).Span).ToArray();

    /// <summary>The bytes of <paramref name="array"/>, which must have the dtype and shape its description implies.</summary>
    private ReadOnlyMemory<byte> Bytes(StoredArray array)
    {
        var entry = File.Get(array.Name, array.DType);
        if (!entry.Shape.SequenceEqual(array.Shape))
            throw new InvalidDataException($"{File.Path}: '{array.Name}' has shape [{string.Join(",", entry.Shape)}], its description implies [{string.Join(",", array.Shape)}].");
        long bytes = array.Shape.Aggregate(1L, (a, b) => a * b) * ElementSize(array.DType);
        if (entry.Bytes.Length != bytes)
            throw new InvalidDataException($"{File.Path}: '{array.Name}' has {entry.Bytes.Length} bytes, its shape needs {bytes}.");
        return entry.Bytes;
    }

    private static int ElementSize(string dtype) => dtype switch
    {
        "U8" or "I8" => 1, "F16" => 2, "F32" => 4, _ => throw new NotSupportedException($"The quantized weights format has no {dtype} arrays."),
    };
}
