namespace Afm.Interchange;

/// <summary>Diagnostic codes of the runtime export formats (GGUF, ONNX Runtime GenAI; AFM6100-AFM6149, specs/diagnostics.md).</summary>
public static class InterchangeCodes
{
    /// <summary>The model has per-layer shapes (OpenELM's layer-wise scaling); the GGUF writer does not write llama.cpp's openelm architecture.</summary>
    public const string GgufPerLayerShapes = "AFM6100";
    /// <summary>QK-norm together with q/k/v biases: no llama.cpp architecture has both.</summary>
    public const string GgufNoArchitecture = "AFM6101";
    /// <summary>The model has per-layer shapes: genai_config.json gives one head count and head size for every layer.</summary>
    public const string GenAIPerLayerShapes = "AFM6102";
    /// <summary>The tokenizer cannot be described to llama.cpp (no built-in pre-tokenizer runs its pattern, or it normalizes).</summary>
    public const string GgufTokenizerUnsupported = "AFM6105";
}

/// <summary>A model that a runtime format cannot hold; <see cref="Code"/> is one of <see cref="InterchangeCodes"/>.</summary>
public sealed class InterchangeException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
