using System.Diagnostics;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// A killed `afm serve` cannot delete the folder it extracted the artifact to; the next afm that opens an artifact
/// removes it, because the process named in the folder is gone.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class KilledServerCleanupTests
{
    [Fact]
    public void The_extraction_folder_of_a_killed_server_is_removed_by_the_next_afm_verify()
    {
        using var project = ModelProject.Create(MicroModel.Project());
        Assert.Equal(0, project.Build().ExitCode);
        var package = project.PathOf("bin/Debug/micro.0.3.0.afmpkg");

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { RepositoryLayout.Compiler, "serve", package, "--urls", "http://127.0.0.1:0" }) start.ArgumentList.Add(argument);
        using var server = Process.Start(start)!;
        string? folder;
        try
        {
            // The folder exists once the artifact is loaded, which is before the server prints that it listens.
            var line = server.StandardOutput.ReadLine();
            Assert.True(line?.Contains("listening on") == true, $"afm serve printed: {line}\n{(server.HasExited ? server.StandardError.ReadToEnd() : "")}");
            folder = Directory.EnumerateDirectories(Path.GetTempPath(), $"afm-run-{server.Id}-*").SingleOrDefault();
            Assert.NotNull(folder);
        }
        finally
        {
            server.Kill(entireProcessTree: true); // SIGKILL: no chance to clean up
            server.WaitForExit();
        }
        Assert.True(Directory.Exists(folder), "a killed server leaves its folder");

        var verify = ProcessRunner.Dotnet(project.Directory, RepositoryLayout.Compiler, "verify", package);

        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.False(Directory.Exists(folder), "the next afm removed the killed server's folder");
    }
}
