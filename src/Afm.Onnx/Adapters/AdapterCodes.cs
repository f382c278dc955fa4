namespace Afm.Onnx.Adapters;

/// <summary>Diagnostic codes about adapters against their base graph (AFM7xxx block, specs/diagnostics.md).</summary>
public static class AdapterCodes
{
    /// <summary>The adapter was trained on another base (its base_sha256 is not the graph's afm.base_sha256).</summary>
    public const string BaseMismatch = "AFM7006";
    /// <summary>The adapter's tensors do not fit the graph (unknown name, wrong shape, unpaired A/B, unreadable file).</summary>
    public const string Invalid = "AFM7007";
}

/// <summary>An adapter that cannot be used with a base graph; <see cref="Code"/> is one of <see cref="AdapterCodes"/>.</summary>
public sealed class AdapterException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
