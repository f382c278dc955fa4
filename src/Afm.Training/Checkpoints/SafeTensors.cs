using static TorchSharp.torch;
using Afm.Core.IO;

namespace Afm.Training.Checkpoints;

/// <summary>
/// Reader/writer of TorchSharp tensors in the safetensors format: an 8-byte little-endian header length, a JSON header
/// mapping each tensor name to {dtype, shape, data_offsets} (offsets relative to the end of the header), then the raw
/// little-endian tensor bytes. The header is Afm.Core's (<see cref="SafeTensorsWriter"/>, <see cref="SafeTensorsHeader"/>),
/// written deterministically, so the same weights give the same bytes.
/// </summary>
public static class SafeTensors
{
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var payloads = tensors.Select(t => (t.Name, Payload: t.Tensor.detach().cpu().contiguous())).ToList();
        try
        {
            SafeTensorsWriter.Write(path, payloads.Select(p => new SafeTensorsWriter.Tensor(p.Name, ToSafeTensorsDType(p.Payload.dtype),
                p.Payload.shape, stream => stream.Write(p.Payload.bytes))), metadata);
        }
        finally
        {
            foreach (var (_, payload) in payloads) payload.Dispose();
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
    public static Dictionary<string, string> ReadMetadata(string path) =>
        new(SafeTensorsHeader.Read(path).Metadata, StringComparer.Ordinal);

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
