using System.IO.Compression;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>The export stage puts model.onnx in the artifact, and the built `afm run` generates from it.</summary>
[Collection(ToolchainCollection.Name)]
public sealed class ExportAndRunTests
{
    private static string Compiler => RepositoryLayout.Compiler;

    [Fact]
    public void The_artifact_carries_the_exported_graph_and_afm_run_streams_a_completion_from_it()
    {
        using var project = ModelProject.Create(MicroModel.Project());
        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("export: ", build.Output);
        var package = project.PathOf("bin/Debug/micro.0.3.0.afmpkg");
        var artifact = ArtifactReader.Open(package);
        Assert.Contains("model/model.onnx", artifact.Entries.Keys);
        Assert.Contains("export", artifact.Manifest.Stages);

        var run = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada has a", "--max-tokens", "8", "--temperature", "0");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(@"\[micro: \d+ prompt tokens, \d+ generated, .* tokens/s", run.Output);
    }

    [Fact]
    public void Afm_run_refuses_an_artifact_edited_after_packaging()
    {
        using var project = ModelProject.Create(MicroModel.Project());
        Assert.Equal(0, project.Build().ExitCode);
        var tampered = project.PathOf("tampered.afmpkg");
        File.Copy(project.PathOf("bin/Debug/micro.0.3.0.afmpkg"), tampered);
        using (var zip = ZipFile.Open(tampered, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("tokenizer/vocab.json")!;
            using var stream = entry.Open();
            stream.Seek(0, SeekOrigin.End);
            stream.WriteByte((byte)' ');
        }

        var run = ProcessRunner.Dotnet(project.Directory, Compiler, "run", tampered, "--prompt", "Ada");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error AFM7002", run.Output);
        Assert.Contains("tokenizer/vocab.json does not match its SHA-256", run.Output);
    }
}
