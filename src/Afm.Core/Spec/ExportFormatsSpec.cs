using Afm.Core.Diagnostics;

namespace Afm.Core.Spec;

/// <summary>
/// The runtime formats written beside the package (<c>AfmExportFormats</c>, <c>AfmGgufTypes</c>; specs/afmproj.md):
/// each its own SDK target after the export stage, none by default.
/// </summary>
public sealed record ExportFormatsSpec
{
    /// <summary>Known format names (<see cref="ExportFormatNames"/>), in the order of <see cref="ExportFormatNames.Known"/>.</summary>
    public IReadOnlyList<string> Formats { get; init; } = [];
    /// <summary>The GGUF tensor types written when <see cref="Formats"/> has gguf, in the order of <see cref="ExportFormatNames.GgufTypes"/>.</summary>
    public IReadOnlyList<string> GgufTypes { get; init; } = ExportFormatNames.GgufTypes;
    /// <summary>Where AfmExportFormats is set: a format the model cannot be written in is reported there.</summary>
    public SourceLocation? Location { get; init; }

    public bool Has(string format) => Formats.Contains(format, StringComparer.Ordinal);
}

/// <summary>The one list of export format names and GGUF type names, for the reader, the compiler and the SDK's docs.</summary>
public static class ExportFormatNames
{
    /// <summary>The Hugging Face layout: bin/&lt;Configuration&gt;/&lt;ModelName&gt;.&lt;Version&gt;.hf/ (specs/interchange.md).</summary>
    public const string HuggingFace = "huggingface";
    /// <summary>llama.cpp's GGUF files (specs/gguf.md).</summary>
    public const string Gguf = "gguf";
    /// <summary>The ONNX Runtime GenAI folder (specs/genai.md).</summary>
    public const string GenAI = "genai";

    public static readonly IReadOnlyList<string> Known = [HuggingFace, Gguf, GenAI];

    /// <summary>The GGUF tensor types, as they appear in file names (<c>&lt;name&gt;.&lt;type&gt;.gguf</c>).</summary>
    public static readonly IReadOnlyList<string> GgufTypes = ["f32", "f16", "q8_0", "q4_0"];
}
