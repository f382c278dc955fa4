using System.Text.Json;
using Afm.Core.Diagnostics;

namespace Afm.Cli.Compilation;

/// <summary>
/// Files named on the command line (AFM8xxx, specs/diagnostics.md). The SDK passes the toolchain's own files, but a person
/// can name any file, so one that is not what the option needs is a diagnostic at its path, not an internal error.
/// </summary>
public static class InputFile
{
    /// <summary>Reading or writing a file the command was pointed at failed (missing, unreadable, a folder, no space).</summary>
    public const string FileSystemError = "AFM8001";
    /// <summary>The file is not what the option needs (not JSON, or JSON of another shape).</summary>
    public const string NotWhatItShouldBe = "AFM8002";
    /// <summary>Options that are optional in general are required by this project (e.g. the teacher's files).</summary>
    public const string MissingOptions = "AFM8003";

    public static T Load<T>(string path, string what, string code, Func<string, T> load)
    {
        try
        {
            return load(path);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
        {
            throw Error(code, path, $"not a valid {what}: {e.Message}");
        }
    }

    public static DiagnosticException Error(string code, string file, string message) =>
        new(new Diagnostic(DiagnosticSeverity.Error, code, message, SourceLocation.FileOnly(file)));
}
