using Microsoft.Build.Framework;

namespace Afm.Build.Tasks;

/// <summary>validate: project snapshot -> typed spec and per-stage fingerprints.</summary>
public sealed class AfmValidate : AfmCompilerTask
{
    [Required] public string SnapshotFile { get; set; } = "";
    [Required] public string OutputDirectory { get; set; } = "";
    protected override string Command => "validate";
    protected override void AddArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--snapshot", SnapshotFile);
        arguments.Add("--out", OutputDirectory);
    }
}

/// <summary>Base of the stages that read the validated spec.</summary>
public abstract class AfmSpecStageTask : AfmCompilerTask
{
    [Required] public string SpecFile { get; set; } = "";
    [Required] public string OutputPath { get; set; } = "";
    protected override void AddArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--spec", SpecFile);
        AddStageArguments(arguments);
        arguments.Add("--out", OutputPath);
    }
    protected abstract void AddStageArguments(ResponseFileBuilder arguments);
}

/// <summary>tokenizer: train the BPE vocabulary on the corpora.</summary>
public sealed class AfmTokenizer : AfmSpecStageTask
{
    protected override string Command => "tokenizer";
    protected override void AddStageArguments(ResponseFileBuilder arguments) { }
}

/// <summary>data: tokenize, split and pack the corpora into shards.</summary>
public sealed class AfmData : AfmSpecStageTask
{
    [Required] public string TokenizerDirectory { get; set; } = "";
    protected override string Command => "data";
    protected override void AddStageArguments(ResponseFileBuilder arguments) =>
        arguments.Add("--tokenizer", TokenizerDirectory);
}

/// <summary>train: run the training stages in order, with checkpoints (distilling from the teacher when there is one).</summary>
public sealed class AfmTrain : AfmSpecStageTask
{
    [Required] public string DataDirectory { get; set; } = "";
    /// <summary>With a Teacher: this model's tokenizer folder and the built teacher's weights, spec.json and tokenizer folder.</summary>
    public string TokenizerDirectory { get; set; } = "";
    public string TeacherWeights { get; set; } = "";
    public string TeacherSpec { get; set; } = "";
    public string TeacherTokenizer { get; set; } = "";
    protected override string Command => "train";
    protected override void AddStageArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--data", DataDirectory);
        arguments.Add("--teacher-weights", TeacherWeights);
        arguments.Add("--teacher-spec", TeacherSpec);
        arguments.Add("--teacher-tokenizer", TeacherTokenizer);
        if (!string.IsNullOrEmpty(TeacherWeights)) arguments.Add("--tokenizer", TokenizerDirectory);
    }
}

/// <summary>profile: per-layer latency, energy and memory on each DeviceProfile (host is measured).</summary>
public sealed class AfmProfile : AfmSpecStageTask
{
    protected override string Command => "profile";
    protected override void AddStageArguments(ResponseFileBuilder arguments) { }
}

/// <summary>export: the trained weights -> model.onnx (decoder graph with KV cache).</summary>
public sealed class AfmExport : AfmSpecStageTask
{
    [Required] public string TrainDirectory { get; set; } = "";
    /// <summary>Folder written by the quantize stage (empty without a QuantizationPlan): its weights are exported compressed.</summary>
    public string QuantizeDirectory { get; set; } = "";
    protected override string Command => "export";
    protected override void AddStageArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--train", TrainDirectory);
        if (!string.IsNullOrEmpty(QuantizeDirectory)) arguments.Add("--quantize", QuantizeDirectory);
    }
}

/// <summary>export-adapters: each trained adapter -> ONNX Runtime's .onnx_adapter + description, checked against model.onnx.</summary>
public sealed class AfmExportAdapters : AfmCompilerTask
{
    [Required] public string ExportDirectory { get; set; } = "";
    [Required] public string AdaptersDirectory { get; set; } = "";
    [Required] public string OutputPath { get; set; } = "";
    protected override string Command => "export-adapters";
    protected override void AddArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--export", ExportDirectory);
        arguments.Add("--adapters", AdaptersDirectory);
        arguments.Add("--out", OutputPath);
    }
}

/// <summary>quantize: palettize the trained weights by the QuantizationPlan (sensitivity, bit allocation, report).</summary>
public sealed class AfmQuantize : AfmSpecStageTask
{
    [Required] public string DataDirectory { get; set; } = "";
    [Required] public string TrainDirectory { get; set; } = "";
    /// <summary>Folder written by the profile stage (empty without a DeviceProfile): device costs for budgets and the report.</summary>
    public string ProfileDirectory { get; set; } = "";
    protected override string Command => "quantize";
    protected override void AddStageArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--data", DataDirectory);
        arguments.Add("--train", TrainDirectory);
        if (!string.IsNullOrEmpty(ProfileDirectory)) arguments.Add("--profile", ProfileDirectory);
    }
}

/// <summary>The adapters stage: LoRA adapters on the frozen (quantized) base (specs/adapters.md).</summary>
public sealed class AfmAdapters : AfmSpecStageTask
{
    [Required] public string TokenizerDirectory { get; set; } = "";
    [Required] public string DataDirectory { get; set; } = "";
    [Required] public string TrainDirectory { get; set; } = "";
    /// <summary>Folder written by the quantize stage (empty without a QuantizationPlan: the adapters train on the float model).</summary>
    public string QuantizeDirectory { get; set; } = "";
    protected override string Command => "adapters";
    protected override void AddStageArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--tokenizer", TokenizerDirectory);
        arguments.Add("--data", DataDirectory);
        arguments.Add("--train", TrainDirectory);
        if (!string.IsNullOrEmpty(QuantizeDirectory)) arguments.Add("--quantize", QuantizeDirectory);
    }
}

/// <summary>The AfmQuantizationBaseline gate: compare the quantization report with a committed one, or rewrite it.</summary>
public sealed class AfmQuantizationBaseline : AfmCompilerTask
{
    [Required] public string ReportFile { get; set; } = "";
    [Required] public string BaselineFile { get; set; } = "";
    public string BitsTolerance { get; set; } = "";
    public string PerplexityTolerance { get; set; } = "";
    public bool Update { get; set; }
    protected override string Command => "quantization-baseline";
    protected override void AddArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--report", ReportFile);
        arguments.Add("--baseline", BaselineFile);
        arguments.Add("--bits-tolerance", BitsTolerance);
        arguments.Add("--perplexity-tolerance", PerplexityTolerance);
        if (Update) arguments.Add("--update", "true");
    }
}

/// <summary>package: assemble the versioned .afmpkg with its manifest.</summary>
public sealed class AfmPackage : AfmSpecStageTask
{
    [Required] public string TokenizerDirectory { get; set; } = "";
    [Required] public string DataDirectory { get; set; } = "";
    [Required] public string TrainDirectory { get; set; } = "";
    /// <summary>Folder written by the export stage; its model.onnx goes into the artifact.</summary>
    public string ExportDirectory { get; set; } = "";
    /// <summary>Folder written by the quantize stage (empty without a QuantizationPlan).</summary>
    public string QuantizeDirectory { get; set; } = "";
    /// <summary>Folder written by the profile stage (empty without a DeviceProfile).</summary>
    public string ProfileDirectory { get; set; } = "";
    /// <summary>Folder written by the adapters stage (empty without Adapter items).</summary>
    public string AdaptersDirectory { get; set; } = "";
    /// <summary>Folder written by the export-adapters stage (empty without Adapter items).</summary>
    public string OnnxAdaptersDirectory { get; set; } = "";
    /// <summary>$(AfmPackageSources): keep the float weights and adapter sources beside their compiled forms (specs/artifact.md).</summary>
    public bool PackageSources { get; set; }
    /// <summary>$(AfmSigningCertificate): PEM certificate (and key) that signs the manifest; empty for an unsigned artifact.</summary>
    public string SigningCertificate { get; set; } = "";
    /// <summary>$(AfmSigningKey): the signing key's PEM when it is not in the certificate file.</summary>
    public string SigningKey { get; set; } = "";
    /// <summary>Folder written by the evaluate stage (empty without EvalTask items).</summary>
    public string EvaluateDirectory { get; set; } = "";
    protected override string Command => "package";
    protected override void AddStageArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--tokenizer", TokenizerDirectory);
        arguments.Add("--data", DataDirectory);
        arguments.Add("--train", TrainDirectory);
        if (!string.IsNullOrEmpty(ExportDirectory)) arguments.Add("--export", ExportDirectory);
        arguments.Add("--quantize", QuantizeDirectory);
        if (!string.IsNullOrEmpty(ProfileDirectory)) arguments.Add("--profile", ProfileDirectory);
        if (!string.IsNullOrEmpty(AdaptersDirectory)) arguments.Add("--adapters", AdaptersDirectory);
        if (!string.IsNullOrEmpty(OnnxAdaptersDirectory)) arguments.Add("--onnx-adapters", OnnxAdaptersDirectory);
        if (PackageSources) arguments.Add("--sources", "true");
        if (!string.IsNullOrEmpty(SigningCertificate)) arguments.Add("--signing-certificate", SigningCertificate);
        if (!string.IsNullOrEmpty(SigningKey)) arguments.Add("--signing-key", SigningKey);
        if (!string.IsNullOrEmpty(EvaluateDirectory)) arguments.Add("--evaluate", EvaluateDirectory);
    }
}
