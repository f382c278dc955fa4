namespace Afm.Core.Artifacts;

/// <summary>
/// Names of the files inside an .afmpkg (specs/artifact.md documents them): the one list the packager writes by and the
/// runtime reads by (issue #21).
/// </summary>
public static class ArtifactLayout
{
    public const string Manifest = "manifest.json";
    /// <summary>The CMS signature of <see cref="Manifest"/>'s bytes, when the build signs (specs/artifact.md, "Signing").</summary>
    public const string ManifestSignature = Manifest + ".p7s";
    public const string Spec = "spec.json";
    /// <summary>The in-toto/SLSA provenance statement (Afm.Packaging's ProvenanceStatement).</summary>
    public const string Provenance = "provenance.json";
    public const string Weights = ModelFolder + "model.safetensors";
    /// <summary>The decoder graph with KV cache that ONNX Runtime loads (specs/onnx-export.md).</summary>
    public const string OnnxModel = ModelFolder + "model.onnx";
    /// <summary>The graph's external data (initializers of a model above 1 GiB, specs/onnx-export.md), next to it when the export wrote one.</summary>
    public const string OnnxExternalData = OnnxModel + ".data";
    /// <summary>The tokenizer's files, and the project's chat template as <c>chat_template.jinja</c> (Afm.Tokenizers' ChatTemplateFile).</summary>
    public const string TokenizerFolder = "tokenizer/";
    /// <summary>The folder of the graph and the weights it was exported from.</summary>
    public const string ModelFolder = "model/";
    public const string TrainingReport = "reports/training.json";
    public const string TrainingChart = "reports/training-loss.png";
    /// <summary>Only with reward or dpo stages: their held-out results as Markdown (specs/post-training.md).</summary>
    public const string PostTrainingReportMarkdown = "reports/post-training.md";
    public const string DataReport = "reports/data.json";
    /// <summary>What the data stage removed and packed (Afm.Data.Reporting.DataReport), as JSON and Markdown.</summary>
    public const string DataCleaningReport = "reports/data-report.json";
    public const string DataCleaningReportMarkdown = "reports/data-report.md";
    /// <summary>The quantize stage's weights (storage convention in specs/quantization.md) and its report as JSON, Markdown and chart.</summary>
    public const string QuantizedWeights = ModelFolder + "quantized.safetensors";
    public const string QuantizationReport = "reports/quantization.json";
    public const string QuantizationReportMarkdown = "reports/quantization.md";
    public const string QuantizationChart = "reports/quantization-bits.png";
    /// <summary>The adapters stage's adapters, <c>adapters/&lt;name&gt;/adapter.safetensors</c>, and its report (specs/adapters.md).</summary>
    public const string AdaptersFolder = "adapters/";
    public const string AdaptersReport = "reports/adapters.json";
    public const string AdaptersReportMarkdown = "reports/adapters.md";
    /// <summary>The profile stage's per-device profiles, <c>profile/&lt;device&gt;/profile.json</c> (specs/profiling.md).</summary>
    public const string ProfileFolder = "profile/";

    public static string DeviceProfile(string device) => $"{ProfileFolder}{device}/{StageLayout.Profile.Device.Profile}";
    public static string ProfileTable(string device) => $"reports/profile-{device}.md";
    public static string ProfilePrefillChart(string device) => $"reports/profile-{device}-prefill.png";
    public static string ProfileDecodeChart(string device) => $"reports/profile-{device}-decode.png";
    public static string ProfilePage(string device) => $"reports/profile-{device}.html";

    /// <summary>The evaluate stage's report: every EvalTask on every model variant (Afm.Evaluation), as JSON, Markdown and chart.</summary>
    public const string EvaluationReport = "reports/evaluation.json";
    public const string EvaluationReportMarkdown = "reports/evaluation.md";
    public const string EvaluationChart = "reports/evaluation.png";
}
