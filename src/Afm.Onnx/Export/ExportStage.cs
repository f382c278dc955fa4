using Afm.Core.Artifacts;
using Afm.Core.Spec;

namespace Afm.Onnx.Export;

/// <summary>
/// The export stage (<c>afm export</c>, target AfmExport): the trained float weights, or with a QuantizationPlan the
/// quantized weights in their stored form, -> <c>export/model.onnx</c>, the decoder graph with KV cache
/// (specs/onnx-export.md; plus <c>model.onnx.data</c> above 1 GiB of initializers). Reads the safetensors files
/// directly: no libtorch is needed.
/// </summary>
public static class ExportStage
{
    /// <param name="trainDirectory">The train stage's folder (the float weights).</param>
    /// <param name="quantizeDirectory">The quantize stage's folder; null or empty: the float weights are exported.</param>
    /// <param name="outputDirectory">The export stage's folder.</param>
    /// <param name="progress">Progress lines (the compiler prints them for the build).</param>
    public static void Run(ModelSpec spec, string trainDirectory, string? quantizeDirectory, string outputDirectory, Action<string> progress)
    {
        var quantizedPath = quantizeDirectory is { Length: > 0 } ? Path.Combine(quantizeDirectory, StageLayout.Quantize.Weights) : null;
        var weightsPath = quantizedPath ?? Path.Combine(trainDirectory, StageLayout.Train.Weights);
        var weights = quantizedPath is not null
            ? QuantizedSafeTensorsWeights.Load(spec.Architecture, weightsPath)
            : SafeTensorsWeights.Load(spec.Architecture, weightsPath);
        // The graph records which weights file it was exported from: adapters are checked against that hash.
        weights = weights with
        {
            BaseSha256 = Hashing.Sha256OfFile(weightsPath), Ops = spec.OnnxOps,
            NBitsActivations = quantizedPath is not null && spec.Quantization is { } plan ? plan.RuntimeActivations : RuntimeActivations.Float32,
        };
        var path = Path.Combine(outputDirectory, StageLayout.Export.Model);
        var written = DecoderExporter.Export(weights, ToolchainInfo.Current.Version, path);
        progress($"export: {Path.GetFullPath(path)} ({written.ModelBytes:N0} bytes" +
            (written.DataBytes > 0 ? $" + {written.DataBytes:N0} bytes of external data in {StageLayout.Export.Model}{OnnxModelFile.DataSuffix}" : "") +
            $", ONNX opset {DecoderExporter.Opset}, {spec.OnnxOps.Name()} ops, {Describe(weights)})");
    }

    private static string Describe(DecoderModel weights)
    {
        var compressed = weights.Weights.Values.Count(w => w is not FloatWeight);
        return compressed == 0 ? "float weights" : $"{compressed} of {weights.Weights.Count} weights compressed";
    }
}
