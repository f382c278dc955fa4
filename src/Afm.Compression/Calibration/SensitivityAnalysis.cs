using Afm.Compression.Storage;
using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.Stages;

namespace Afm.Compression.Calibration;

/// <summary>
/// Measured sensitivity: the calibration loss increase when one layer alone is replaced by its quantized
/// version, every other layer staying float. Summed over layers it predicts the loss of a mixed plan
/// (an additive model: it ignores interactions, which the report's measured perplexity then shows).
/// </summary>
public sealed class SensitivityAnalysis(AfmDecoder model, IPackedSequences calibration, IReadOnlyList<long> indices)
{
    public double FloatLoss { get; } = Evaluator.MeanLoss(model, calibration, indices);

    /// <param name="restore">Puts the layer's float values back afterwards.</param>
    public double LossIncrease(QuantizedTensor quantized, Action restore)
    {
        ModelWeights.Set(model, quantized);
        try
        {
            return Evaluator.MeanLoss(model, calibration, indices) - FloatLoss;
        }
        finally
        {
            restore();
        }
    }
}
