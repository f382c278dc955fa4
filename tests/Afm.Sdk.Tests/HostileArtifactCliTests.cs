using System.IO.Compression;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// The `afm` verbs that open an artifact, run as a user runs them, on zips the package stage never writes: each
/// answers with a one-line AFM7xxx diagnostic and exit 1, never AFM9003 or a stack trace.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class HostileArtifactCliTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-tests", "hostile-" + Guid.NewGuid().ToString("N")[..8]);
    private const string Manifest = """{"format":"afmpkg/1","name":"h","version":"1","toolchain":{"name":"AfmToolchain","version":"t"},"seed":1,"threads":1,"stages":[],"inputs":[],"files":[]}""";

    private string Zip(string name, params string[] entries)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var entry in entries)
        {
            using var writer = new StreamWriter(zip.CreateEntry(entry).Open());
            writer.Write(entry == "manifest.json" ? Manifest : "x");
        }
        return path;
    }

    [Theory]
    [InlineData("run")]
    [InlineData("verify")]
    [InlineData("diff")]
    public void A_zip_with_two_entries_of_one_name_is_AFM7002(string verb)
    {
        var path = Zip("twice.afmpkg", "manifest.json", "model/model.onnx", "model/model.onnx");
        string[] arguments = verb switch { "run" => ["run", path, "--prompt", "Ada"], "diff" => ["diff", path, path], _ => [verb, path] };

        var result = ProcessRunner.Dotnet(directory, [RepositoryLayout.Compiler, .. arguments]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error AFM7002", result.Output);
        Assert.Contains("two entries named model/model.onnx", result.Output);
        Assert.DoesNotContain("AFM9003", result.Output);
        Assert.DoesNotContain("   at ", result.Output);
    }

    [Fact]
    public void A_listed_entry_named_with_dot_dot_is_refused_by_afm_run()
    {
        var path = Zip("escape.afmpkg", "manifest.json", "../escape.txt");

        var result = ProcessRunner.Dotnet(directory, RepositoryLayout.Compiler, "run", path, "--prompt", "Ada");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error AFM7002", result.Output);
        Assert.Contains("'../escape.txt' is not a plain relative path", result.Output);
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
