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
        var parameter = model.named_parameters().First(p => p.name == name).parameter;
        using var noGrad = no_grad();
        using var source = tensor(values, parameter.shape);
        parameter.copy_(source);
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
