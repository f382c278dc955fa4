using Afm.Core.Artifacts;
using Afm.Core.Spec;

namespace Afm.Interchange;

/// <summary>
/// What the two stages that write the decoder's weights in another stack's format read (export-huggingface,
/// export-gguf): the train stage's float weights, or with a QuantizationPlan the quantize stage's weights dequantized,
/// the tokenizer, and the trained adapters.
/// </summary>
/// <param name="QuantizeDirectory">The quantize stage's folder; null or empty: the float weights are exported.</param>
/// <param name="AdaptersDirectory">The adapters stage's folder; null, empty or absent: no adapters.</param>
/// <param name="Dequantize">Reads quantized weights back to float32 by name: Afm.Compression's
/// <c>QuantizedWeightsFile.Dequantize</c>, which this library cannot reference (Afm.Compression references it, through Afm.Training).</param>
public sealed record WeightsExportInputs(ModelSpec Spec, string TrainDirectory, string TokenizerDirectory, string? QuantizeDirectory,
    string? AdaptersDirectory, Func<string, IReadOnlyDictionary<string, (long[] Shape, float[] Values)>> Dequantize)
{
    public string FloatWeightsPath => Path.Combine(TrainDirectory, StageLayout.Train.Weights);

    /// <summary>The quantize stage's weights file, or null when the float weights are exported.</summary>
    public string? QuantizedWeightsPath => QuantizeDirectory is { Length: > 0 } q ? Path.Combine(q, StageLayout.Quantize.Weights) : null;
}

/// <summary>What the export-genai stage reads: the export stage's graph as it is, the compiled adapters and the tokenizer.</summary>
/// <param name="ExportDirectory">The export stage's folder (<c>model.onnx</c>, and <c>model.onnx.data</c> when the graph has external data).</param>
/// <param name="OnnxAdaptersDirectory">The export-adapters stage's folder; null, empty or absent: no adapters.</param>
public sealed record GenAIExportInputs(ModelSpec Spec, string ExportDirectory, string? OnnxAdaptersDirectory, string TokenizerDirectory);
