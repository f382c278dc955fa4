using Afm.Core.Diagnostics;

namespace Afm.Cli.Compilation;

/// <summary>
/// Runs one compiler command with the compiler's error contract: user mistakes come out as canonical
/// diagnostics on stdout and exit code 1, never as a stack trace; anything else is an internal compiler
/// error (AFM9003), whose stack trace goes to stderr for the bug report. A failure of the file system (a missing or
/// unreadable file, a folder where a file belongs, a full disk) is about the paths and machine the user gave, not
/// the compiler, so it is AFM8001 with .NET's message, which names the path.
/// </summary>
public static class CompilerRun
{
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (DiagnosticException e)
        {
            CompilerOutput.Report(e.Diagnostic);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            CompilerOutput.Report(new Diagnostic(DiagnosticSeverity.Error, InputFile.FileSystemError, e.Message, SourceLocation.FileOnly("afm")));
            return 1;
        }
        catch (Exception e)
        {
            CompilerOutput.Report(new Diagnostic(DiagnosticSeverity.Error, "AFM9003",
                $"internal compiler error: {e.GetType().Name}: {e.Message}", SourceLocation.FileOnly("afm")));
            Console.Error.WriteLine(e);
            return 1;
        }
    }
}
