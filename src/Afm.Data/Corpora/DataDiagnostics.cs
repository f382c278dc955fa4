using Afm.Core.Diagnostics;

namespace Afm.Data.Corpora;

/// <summary>The diagnostics the data stage raises about a project's corpora (listed in specs/diagnostics.md).</summary>
public static class DataDiagnostics
{
    /// <summary>A JSON lines record is not valid JSON, or lacks the text field as a string.</summary>
    public const string BadJsonLine = "AFM2001";

    /// <summary>A corpus or eval set holds no document after reading.</summary>
    public const string EmptyCorpus = "AFM2002";

    /// <summary>Every document of a corpus was removed as a duplicate or as a copy of an eval set document.</summary>
    public const string CorpusEmptiedByFiltering = "AFM2003";

    /// <summary>A training stage (or a feature adapter's Data) would have no validation sequences after the split.</summary>
    public const string NoValidationSequences = "AFM2004";

    internal static DiagnosticException Error(string code, string message, SourceLocation location) =>
        new(new Diagnostic(DiagnosticSeverity.Error, code, message, location));
}
