using System.Text.RegularExpressions;

namespace Afm.Sdk.Tests.Infrastructure;

/// <summary>
/// The suite's standing check that no input reaches an internal error (specs/diagnostics.md: a user mistake is an AFM
/// diagnostic, never AFM9003, an unhandled exception or a stack trace). Every process the end-to-end tests start goes
/// through <see cref="ProcessRunner"/>, which scans its whole output here as it ends: the suite's whole log corpus
/// (hostile projects, bad options, happy paths) is held to it, and the first test whose process breaks it fails.
/// </summary>
public static partial class InternalErrorScan
{
    [GeneratedRegex(@"AFM9003|Unhandled exception|^\s+at [\w.`<>\[\],]+\(.*\)( in .+:line \d+)?\s*$", RegexOptions.Multiline)]
    private static partial Regex InternalErrorLine();

    /// <summary>The lines of <paramref name="output"/> that show an internal error, with the line before each.</summary>
    public static IReadOnlyList<string> Find(string output)
    {
        var lines = output.Split('\n');
        var found = new List<string>();
        for (var i = 0; i < lines.Length; i++)
            if (InternalErrorLine().IsMatch(lines[i]))
                found.Add((i > 0 ? lines[i - 1].TrimEnd() + " / " : "") + lines[i].TrimEnd());
        return found;
    }

    /// <summary>Fails the calling test when the output shows an internal error.</summary>
    public static void Check(string commandLine, string output)
    {
        var found = Find(output);
        if (found.Count > 0)
            throw new Xunit.Sdk.XunitException($"`{commandLine}` reached an internal error:\n  " + string.Join("\n  ", found.Take(5)) + "\n\n" + output);
    }
}
