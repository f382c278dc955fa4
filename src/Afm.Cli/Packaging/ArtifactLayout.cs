namespace Afm.Cli.Packaging;

/// <summary>Names of the files inside an .afmpkg (specs/artifact.md documents them).</summary>
public static class ArtifactLayout
{
    public const string Manifest = "manifest.json";
    public const string Spec = "spec.json";
    public const string Weights = "model/model.safetensors";
    /// <summary>The decoder graph with KV cache that ONNX Runtime loads (specs/onnx-export.md).</summary>
    public const string OnnxModel = "model/model.onnx";
    public const string TokenizerFolder = "tokenizer/";
    public const string TrainingReport = "reports/training.json";
    public const string TrainingChart = "reports/training-loss.png";
    public const string DataReport = "reports/data.json";
}
