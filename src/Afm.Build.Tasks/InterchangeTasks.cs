using Microsoft.Build.Framework;

namespace Afm.Build.Tasks;

/// <summary>
/// The exports that write the model's weights for another stack (Hugging Face layout, GGUF): both read the trained
/// weights, the quantized ones when there is a plan (dequantized), the tokenizer and the trained adapters.
/// </summary>
public abstract class AfmWeightsExportTask : AfmSpecStageTask
{
    [Required] public string TrainDirectory { get; set; } = "";
    [Required] public string TokenizerDirectory { get; set; } = "";
    /// <summary>Folder of the quantize stage (empty without a QuantizationPlan): its weights, dequantized, are written.</summary>
    public string QuantizeDirectory { get; set; } = "";
    /// <summary>Folder of trained adapters (empty without Adapter items).</summary>
    public string AdaptersDirectory { get; set; } = "";
    protected override void AddStageArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--train", TrainDirectory);
        arguments.Add("--quantize", QuantizeDirectory);
        arguments.Add("--tokenizer", TokenizerDirectory);
        arguments.Add("--adapters", AdaptersDirectory);
    }
}

/// <summary>export-gguf: the model and its adapters as GGUF files for llama.cpp, beside the package (AfmExportFormats has gguf).</summary>
public sealed class AfmExportGguf : AfmWeightsExportTask
{
    protected override string Command => "export-gguf";
}

/// <summary>export-huggingface: the model in the Hugging Face layout, adapters in PEFT's (AfmExportFormats has huggingface).</summary>
public sealed class AfmExportHuggingFace : AfmWeightsExportTask
{
    protected override string Command => "export-huggingface";
}

/// <summary>export-genai: the ONNX Runtime GenAI folder beside the package (AfmExportFormats has genai).</summary>
public sealed class AfmExportGenAI : AfmSpecStageTask
{
    [Required] public string ExportDirectory { get; set; } = "";
    [Required] public string TokenizerDirectory { get; set; } = "";
    /// <summary>Folder written by export-adapters (empty without Adapter items).</summary>
    public string OnnxAdaptersDirectory { get; set; } = "";
    protected override string Command => "export-genai";
    protected override void AddStageArguments(ResponseFileBuilder arguments)
    {
        arguments.Add("--export", ExportDirectory);
        arguments.Add("--onnx-adapters", OnnxAdaptersDirectory);
        arguments.Add("--tokenizer", TokenizerDirectory);
    }
}
