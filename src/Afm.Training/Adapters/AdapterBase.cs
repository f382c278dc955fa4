using Afm.Core.Spec;
using Afm.Training.Model;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Adapters;

/// <summary>
/// The frozen base an adapter trains on and runs over: the float model, or the quantized model dequantized
/// (Afm.Compression's <c>QuantizedWeightsFile.Dequantize</c>, which this library cannot reference), so the
/// base behaves exactly as in the artifact. Every base parameter is frozen (requires_grad false).
/// </summary>
public static class AdapterBase
{
    /// <summary>The float model from a training weights file (eval mode, RoPE base from the file), frozen.</summary>
    public static AfmDecoder FromFloat(ArchitectureSpec architecture, string weightsPath) =>
        Freeze(Trainer.LoadModel(architecture, weightsPath));

    /// <summary>A model from float32 weights by name (e.g. dequantized), with the given RoPE base; eval mode, frozen.</summary>
    public static AfmDecoder FromWeights(ArchitectureSpec architecture, IReadOnlyDictionary<string, (long[] Shape, float[] Values)> weights, double ropeBase)
    {
        TorchRuntime.PrepareProcess();
        var model = new AfmDecoder(architecture) { RopeBase = ropeBase };
        try
        {
            using var noGrad = no_grad();
            foreach (var (name, parameter) in model.named_parameters())
            {
                if (!weights.TryGetValue(name, out var w) || !w.Shape.SequenceEqual(parameter.shape))
                    throw new InvalidDataException($"The base weights have no '{name}' of shape [{string.Join(",", parameter.shape)}].");
                using var source = tensor(w.Values, w.Shape);
                parameter.copy_(source);
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return Freeze(model);
    }

    /// <summary>A frozen base gets no gradient buffers: only the adapter's A and B train.</summary>
    public static AfmDecoder Freeze(AfmDecoder model)
    {
        foreach (var p in model.parameters()) p.requires_grad = false;
        return model;
    }
}
