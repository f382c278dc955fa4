using Afm.Compression.Storage;
using Afm.Training.Model;
using static TorchSharp.torch;

namespace Afm.Compression.Calibration;

/// <summary>Reads and replaces a decoder's weights by name, as flat float32 arrays (row-major).</summary>
public static class ModelWeights
{
    public static List<(string Name, long[] Shape, float[] Values)> Read(AfmDecoder model) =>
        model.named_parameters().Select(p =>
        {
            using var cpu = p.parameter.detach().cpu().to_type(ScalarType.Float32).contiguous();
            return (p.name, p.parameter.shape.ToArray(), cpu.data<float>().ToArray());
        }).ToList();

    public static void Set(AfmDecoder model, string name, float[] values)
    {
        var destination = Values(model, name);
        if (values.Length != destination.Length)
            throw new ArgumentException($"'{name}' has {destination.Length} values, not {values.Length}.", nameof(values));
        values.CopyTo(destination);
    }

    /// <summary>Puts the float values of <paramref name="name"/> back, read straight into the parameter when they come from the weights file.</summary>
    public static void Restore(AfmDecoder model, string name, IReadOnlyDictionary<string, float[]> floats)
    {
        if (floats is WeightsFileArrays file) file.ReadInto(name, Values(model, name));
        else Set(model, name, floats[name]);
    }

    /// <summary>Puts <paramref name="tensor"/>'s dequantized values in place, with no float copy of it on the way.</summary>
    public static void Set(AfmDecoder model, QuantizedTensor tensor) => tensor.DequantizeInto(Values(model, tensor.Name));

    /// <summary>
    /// The parameter's own memory (a CPU fp32 contiguous tensor, as <c>Trainer.LoadModel</c> builds it): written in place,
    /// a large layer (a 151,936-token embedding is 0.6 GB) needs no staging tensor beside the array it comes from.
    /// </summary>
    public static Span<float> Values(AfmDecoder model, string name)
    {
        var parameter = model.named_parameters().First(p => p.name == name).parameter;
        if (parameter.dtype != ScalarType.Float32 || !parameter.is_contiguous() || parameter.device_type != TorchSharp.DeviceType.CPU)
            throw new InvalidOperationException($"'{name}' is not a contiguous fp32 CPU parameter.");
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(parameter.bytes);
    }

    /// <summary>Loads every weight of a dequantized artifact into <paramref name="model"/> (names and shapes must match).</summary>
    public static void Load(AfmDecoder model, IReadOnlyDictionary<string, (long[] Shape, float[] Values)> weights)
    {
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (!weights.TryGetValue(name, out var w) || !w.Shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException($"The quantized weights have no '{name}' of shape [{string.Join(",", parameter.shape)}].");
            Set(model, name, w.Values);
        }
    }
}
