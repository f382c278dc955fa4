using Afm.Core.Diagnostics;

namespace Afm.Cli.Compilation;

/// <summary>
/// The compiler's stdout protocol with the SDK's tasks: canonical diagnostic lines, <c>progress: </c> lines
/// that the build shows at its default verbosity, and plain lines shown at normal verbosity.
/// </summary>
public static class CompilerOutput
{
    private static readonly object Gate = new();

    public static void Report(Diagnostic diagnostic) => WriteLine(diagnostic.ToString());

    public static void Progress(string message) => WriteLine("progress: " + message);

    public static void Info(string message) => WriteLine(message);

    private static void WriteLine(string line)
    {
        lock (Gate)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
