using Microsoft.Build.Framework;

namespace Afm.Build.Tasks;

/// <summary>evaluate: the EvalTask items on every variant of the exported graph (float, quantized, with adapters) -> evaluation.json/.md/.png.</summary>
public sealed class AfmEvaluate : AfmSpecStageTask
{
    [Required] public string TokenizerDirectory { get; set; } = "";
    [Required] public string ExportDirectory { get; set; } = "";
    /// <summary>Folder written by the export-adapters stage (empty without Adapter items).</summary>
    public string OnnxAdaptersDirectory { get; set; } = "";
    /// <summary>The train folder; with <see cref="EvaluateFloat"/> its float weights are evaluated beside the quantized graph.</summary>
    public string TrainDirectory { get; set; } = "";
    /// <summary>The export holds the quantized weights (the project has a QuantizationPlan).</summary>
    public bool Quantized { get; set; }
    public bool EvaluateFloat { get; set; }
    protected override string Command => "evaluate";
    protected override void AddStageArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--tokenizer", TokenizerDirectory);
        arguments.Add("--export", ExportDirectory);
        if (!string.IsNullOrEmpty(OnnxAdaptersDirectory)) arguments.Add("--export-adapters", OnnxAdaptersDirectory);
        if (Quantized) arguments.Add("--quantized", "true");
        if (EvaluateFloat && !string.IsNullOrEmpty(TrainDirectory))
        {
            arguments.Add("--train", TrainDirectory);
            arguments.Add("--float", "true");
        }
    }
}

/// <summary>The evaluation gate: the report against $(AfmEvaluationBaseline), or rewrites it (-p:AfmUpdateBaseline=true).</summary>
public sealed class AfmEvaluationBaseline : AfmCompilerTask
{
    [Required] public string SpecFile { get; set; } = "";
    [Required] public string ReportFile { get; set; } = "";
    [Required] public string BaselineFile { get; set; } = "";
    public string Tolerance { get; set; } = "";
    public bool Update { get; set; }
    protected override string Command => "evaluation-baseline";
    protected override void AddArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--spec", SpecFile);
        arguments.Add("--report", ReportFile);
        arguments.Add("--baseline", BaselineFile);
        arguments.Add("--tolerance", Tolerance);
        if (Update) arguments.Add("--update", "true");
    }
}
