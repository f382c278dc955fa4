using Afm.Core.Diagnostics;

namespace Afm.Evaluation;

/// <summary>
/// The stable codes of the evaluate stage (specs/diagnostics.md): AFM240x for what a task file holds, AFM440x for the
/// evaluation gate. The EvalTask items themselves are checked at validate (AFM135x, Afm.Core's reader).
/// </summary>
public static class EvaluationCodes
{
    public const string BadJsonLine = "AFM2400";
    public const string MissingField = "AFM2401";
    public const string LabelOutsideChoices = "AFM2402";
    public const string WrongFieldType = "AFM2403";
    public const string NoRecords = "AFM2404";
    public const string TooFewShots = "AFM2405";

    public const string TaskDropped = "AFM4400";
    public const string BaselineUnreadable = "AFM4401";
    public const string TaskMissingFromReport = "AFM4402";

    public static DiagnosticException Error(string code, SourceLocation location, string message) =>
        new(new Diagnostic(DiagnosticSeverity.Error, code, message, location));
}
