using System.Diagnostics;

namespace Afm.Interchange.Tests;

/// <summary>Runs a peer's process (node, npm) with one request on stdin, bounded in time; shared by the peer tests.</summary>
internal static class PeerProcess
{
    internal static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> arguments, string directory, string? stdin, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish within {timeout}.");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
