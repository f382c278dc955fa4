using Afm.Core.Diagnostics;
using Afm.Core.Spec;

namespace Afm.Interchange;

/// <summary>A model a runtime format cannot hold is the project's mistake: reported at AfmExportFormats, never as a stack trace.</summary>
internal static class InterchangeDiagnostics
{
    public static void Check(ModelSpec model, Action check)
    {
        try
        {
            check();
        }
        catch (InterchangeException e)
        {
            throw At(model, e.Code, e.Message);
        }
    }

    /// <summary>An error at AfmExportFormats, or at the project file when the property came from no element.</summary>
    public static DiagnosticException At(ModelSpec model, string code, string message) =>
        new(new Diagnostic(DiagnosticSeverity.Error, code, message, model.Exports.Location ?? SourceLocation.FileOnly(model.ProjectPath)));
}
