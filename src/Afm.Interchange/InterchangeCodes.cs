namespace Afm.Interchange;

/// <summary>
/// The stable codes of Afm.Interchange (specs/diagnostics.md): AFM162x-164x about another stack's files, reported at
/// the BaseModel element, and AFM61xx about a model a runtime format cannot hold; a code never changes meaning once released.
/// </summary>
public static class InterchangeCodes
{
    public const string ConfigMissing = "AFM1620";
    public const string ConfigMalformed = "AFM1621";
    public const string UnknownArchitecture = "AFM1622";
    public const string RopeScalingNotSupported = "AFM1623";
    public const string UnsupportedArchitectureFeature = "AFM1624";
    public const string WeightsMissing = "AFM1625";
    public const string ShardMissing = "AFM1626";
    public const string SafeTensorsMalformed = "AFM1627";
    public const string TensorMissing = "AFM1628";
    public const string TensorShapeMismatch = "AFM1629";
    public const string TensorDTypeUnsupported = "AFM1630";
    public const string UnexpectedTensor = "AFM1631";
    public const string IndexMalformed = "AFM1632";
    /// <summary>The model cannot be written in the format exactly (e.g. QK-norm with biases, an adapter on a fused module).</summary>
    public const string ExportNotExpressible = "AFM1640";
    // AFM1641 (a BaseModel's tokenizer not loadable yet) is retired: the tokenizer stage loads it now.
    /// <summary>A BaseModel's tokenizer has more tokens than its embedding matrix has rows.</summary>
    public const string TokenizerLargerThanEmbeddings = "AFM1642";

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
