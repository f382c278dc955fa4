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

    /// <summary>A signature is required (--require-signature or --trust) and the artifact has none.</summary>
    public const string ArtifactUnsigned = "AFM7008";
    /// <summary>The artifact's signature does not verify over its manifest.json (manifest or signature changed, or not a CMS signature).</summary>
    public const string SignatureInvalid = "AFM7009";
    /// <summary>The signature is valid, but its signer is not, and does not chain to, a trusted certificate.</summary>
    public const string SignerUntrusted = "AFM7010";
    /// <summary>A certificate or key file (signing certificate, signing key, --trust) cannot be read or used.</summary>
    public const string CertificateUnusable = "AFM7011";
    /// <summary>The temp folder's disk has less free space than the artifact's files need.</summary>
    public const string NoRoomToExtract = "AFM7012";
    /// <summary>The chat template <c>afm serve</c> would render chat requests with (the artifact's or --chat-template-file's) cannot render a fixed conversation.</summary>
    public const string ChatTemplateUnusable = "AFM7013";
    /// <summary><c>afm run --chat</c>: the chat template refused the conversation so far (e.g. <c>raise_exception</c>).</summary>
    public const string ChatTurnRefused = "AFM7014";
    /// <summary><c>afm run --chat</c>: a line of standard input (one user turn) is longer than <see cref="ChatTurnMaxCharacters"/>.</summary>
    public const string ChatTurnTooLong = "AFM7015";
    /// <summary>1 Mi characters a turn, as a chat request to <c>afm serve</c> is at most 1 MiB by default.</summary>
    public const int ChatTurnMaxCharacters = 1 << 20;

    public static DiagnosticException Error(string code, string file, string message) =>
        new(new Diagnostic(DiagnosticSeverity.Error, code, message, SourceLocation.FileOnly(file)));
}
