namespace Afm.Core.Diagnostics;

public enum DiagnosticSeverity { Warning, Error }

/// <summary>A place in a project file. Line and column are 1-based; 0 means "unknown".</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    public static SourceLocation FileOnly(string file) => new(file, 0, 0);
    public override string ToString() => Line > 0 ? $"{File}({Line},{Column})" : File;
}

/// <summary>
/// One message about a user's project. Printed in the canonical MSBuild form
/// <c>path(line,col): error AFM1234: message</c> so that the SDK's tasks map it onto an MSBuild error
/// with file, line, column and code, and so that a person can read it on the console.
/// </summary>
public sealed record Diagnostic(DiagnosticSeverity Severity, string Code, string Message, SourceLocation Location)
{
    public bool IsError => Severity == DiagnosticSeverity.Error;

    public override string ToString()
    {
        var kind = Severity == DiagnosticSeverity.Error ? "error" : "warning";
        return $"{Location}: {kind} {Code}: {Message}";
    }
}
