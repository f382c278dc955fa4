using Afm.Core.Diagnostics;

namespace Afm.Runtime;

/// <summary>Diagnostic codes of the runtime (AFM7xxx, documented in specs/diagnostics.md).</summary>
public static class RuntimeCodes
{
    /// <summary>The artifact file does not exist or is not a readable .afmpkg (zip with manifest.json).</summary>
    public const string ArtifactUnreadable = "AFM7001";
    /// <summary>A file's bytes do not match the manifest, a listed file is missing, or an unlisted file is present.</summary>
    public const string ArtifactTampered = "AFM7002";
    /// <summary>The artifact has no model/model.onnx (built before the export stage existed).</summary>
    public const string ArtifactHasNoOnnxModel = "AFM7003";
    /// <summary>A generation setting is out of range (max tokens, temperature, top-k, top-p).</summary>
    public const string InvalidGenerationOption = "AFM7004";
    /// <summary>An adapter was requested that the artifact does not carry.</summary>
    public const string AdapterNotAvailable = "AFM7005";
    /// <summary>The adapter was trained on another base than the artifact's model.onnx (base_sha256 differs).</summary>
    public const string AdapterBaseMismatch = Afm.Onnx.Adapters.AdapterCodes.BaseMismatch;
    /// <summary>The adapter's files do not fit the model (unreadable, or parameters the graph has no input for).</summary>
    public const string AdapterInvalid = Afm.Onnx.Adapters.AdapterCodes.Invalid;
    /// <summary>afm serve cannot listen on its URLs: a port in use, a malformed URL, or an address it cannot bind.</summary>
    public const string CannotListen = "AFM7101";

    public static DiagnosticException Error(string code, string file, string message) =>
        new(new Diagnostic(DiagnosticSeverity.Error, code, message, SourceLocation.FileOnly(file)));
}
