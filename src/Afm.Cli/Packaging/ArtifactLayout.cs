namespace Afm.Cli.Packaging;

/// <summary>Names of the files inside an .afmpkg (specs/artifact.md documents them).</summary>
public static class ArtifactLayout
{
    public const string Manifest = "manifest.json";
    public const string Spec = "spec.json";
    /// <summary>The in-toto/SLSA provenance statement (<see cref="ProvenanceStatement"/>).</summary>
    public const string Provenance = "provenance.json";
    public const string Weights = "model/model.safetensors";
    /// <summary>The decoder graph with KV cache that ONNX Runtime loads (specs/onnx-export.md).</summary>
    public const string OnnxModel = "model/model.onnx";
    public const string TokenizerFolder = "tokenizer/";
    public const string TrainingReport = "reports/training.json";
    public const string TrainingChart = "reports/training-loss.png";
    public const string DataReport = "reports/data.json";
    /// <summary>What the data stage removed and packed (Afm.Data.Reporting.DataReport), as JSON and Markdown.</summary>
    public const string DataCleaningReport = "reports/data-report.json";
    public const string DataCleaningReportMarkdown = "reports/data-report.md";
    /// <summary>The quantize stage's weights (storage convention in specs/quantization.md) and its report as JSON, Markdown and chart.</summary>
    public const string QuantizedWeights = "model/quantized.safetensors";
    public const string QuantizationReport = "reports/quantization.json";
    public const string QuantizationReportMarkdown = "reports/quantization.md";
    public const string QuantizationChart = "reports/quantization-bits.png";
    /// <summary>The adapters stage's adapters, <c>adapters/&lt;name&gt;/adapter.safetensors</c>, and its report (specs/adapters.md).</summary>
    public const string AdaptersFolder = "adapters/";
    public const string AdaptersReport = "reports/adapters.json";
    public const string AdaptersReportMarkdown = "reports/adapters.md";
}
