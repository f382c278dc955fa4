using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Interchange;

namespace Afm.Cli.Commands.Interchange;

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
            var location = model.Exports.Location ?? SourceLocation.FileOnly(model.ProjectPath);
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, e.Code, e.Message, location));
        }
    }
}
