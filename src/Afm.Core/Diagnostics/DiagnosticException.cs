namespace Afm.Core.Diagnostics;

/// <summary>
/// Thrown by a stage when it meets a user mistake it can only see while working (e.g. an empty corpus
/// after tokenization). The compiler prints it as a diagnostic and exits 1 — never as a stack trace.
/// </summary>
public sealed class DiagnosticException(Diagnostic diagnostic) : Exception(diagnostic.Message)
{
    public Diagnostic Diagnostic { get; } = diagnostic;
}
