using Afm.Compression.Storage;
using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Compression.Calibration;

/// <summary>
/// Measured sensitivity: the calibration loss increase when one layer alone is replaced by its quantized
/// version, every other layer staying float. Summed over layers it predicts the loss of a mixed plan
/// (an additive model: it ignores interactions, which the report's measured perplexity then shows).
/// </summary>
/// <remarks>
/// Every layer before the replaced one is float, so the residual stream entering it is the float model's: the float pass
/// keeps the stream entering every <c>stride</c>-th layer (and leaving the last one) for each calibration batch, and a
/// layer's pass runs from the nearest kept input at or before it, with the same operations as a whole forward pass, so
/// the same values. On a model of Qwen3-0.6B's 28 layers a pass then runs half the layers on average instead of all of
/// them (issue #15). The stride is the smallest that keeps the kept inputs within <c>keepBytes</c>.
/// </remarks>
public sealed class SensitivityAnalysis : IDisposable
{
    private readonly AfmDecoder model;
    private readonly IPackedSequences calibration;
    private readonly IReadOnlyList<long> indices;
    private readonly int layers, stride;
    /// <summary>Per batch, the residual stream entering layer i (at i = 0, stride, 2 stride, ...) and leaving the last layer (at layers).</summary>
    private readonly List<Dictionary<int, Tensor>> kept = [];

    /// <param name="keepBytes">At most this many bytes of layer inputs are kept (0: none, every pass runs the whole model).</param>
    public SensitivityAnalysis(AfmDecoder model, IPackedSequences calibration, IReadOnlyList<long> indices, long keepBytes = 0)
    {
        (this.model, this.calibration, this.indices) = (model, calibration, indices);
        layers = model.Architecture.Layers;
        long perLayer = indices.Count * (long)calibration.SequenceLength * model.Architecture.ModelDim * sizeof(float);
        // Kept: ceil(layers / stride) inputs and the last layer's output.
        stride = Enumerable.Range(1, layers).FirstOrDefault(s => ((layers + s - 1) / s + 1) * perLayer <= keepBytes);
        FloatLoss = stride == 0 ? Evaluator.MeanLoss(model, calibration, indices) : Evaluator.MeanLoss(model, calibration, indices, (inputs, _) =>
        {
            var residuals = new Dictionary<int, Tensor>();
            kept.Add(residuals);
            var x = model.Embed(inputs);
            for (int i = 0; i < layers; i++)
            {
                if (i % stride == 0) residuals[i] = x.alias().DetachFromDisposeScope();
                x = model.RunLayers(x, i, i + 1);
            }
            residuals[layers] = x.alias().DetachFromDisposeScope();
            return model.Logits(x);
        });
    }

    public double FloatLoss { get; }

    /// <param name="restore">Puts the layer's float values back afterwards.</param>
    public double LossIncrease(QuantizedTensor quantized, Action restore)
    {
        ModelWeights.Set(model, quantized);
        try
        {
            int first = FirstLayer(quantized.Name);
            if (stride == 0 || first == 0) return Evaluator.MeanLoss(model, calibration, indices) - FloatLoss;
            int from = first == layers ? layers : first / stride * stride;
            return Evaluator.MeanLoss(model, calibration, indices, (_, batch) =>
            {
                using var scope = NewDisposeScope();
                var residual = model.RunLayers(kept[batch][from], from, layers);
                return model.Logits(residual).MoveToOuterDisposeScope();
            }) - FloatLoss;
        }
        finally
        {
            restore();
        }
    }

    /// <summary>
    /// The first layer whose output <paramref name="weight"/> changes: i for layers.i.*, the number of layers for the final
    /// norm and an untied output projection, 0 for anything else (the embedding, which when tied is the output projection too).
    /// </summary>
    private int FirstLayer(string weight) =>
        weight is "norm.weight" or "lm_head.weight" ? layers : AfmDecoder.LayerOf(weight) is int layer && layer < layers ? layer : 0;

    public void Dispose()
    {
        foreach (var residuals in kept)
            foreach (var tensor in residuals.Values) tensor.Dispose();
        kept.Clear();
    }
}
