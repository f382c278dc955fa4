namespace Afm.Core.Spec;

/// <summary>
/// The formats <c>AfmExportFormats</c> may name (specs/afmproj.md): outputs written beside the .afmpkg, each by its own
/// SDK target. The one list: the property's reader checks names against it (AFM1600), validate writes the chosen ones
/// for the targets to read back.
/// </summary>
public static class ExportFormats
{
    /// <summary>The Hugging Face layout: bin/&lt;Configuration&gt;/&lt;ModelName&gt;.&lt;Version&gt;.hf/ (specs/interchange.md).</summary>
    public const string HuggingFace = "huggingface";

    public static readonly IReadOnlyList<string> Known = [HuggingFace];
}
