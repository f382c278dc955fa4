using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// `dotnet pack sdk/Afm.Sdk` produces an MSBuild SDK package that a project outside this repository uses
/// through global.json's msbuild-sdks alone: no source tree, no install step.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class PackedSdkTests
{
    [Fact]
    public void An_outside_project_builds_with_the_packed_sdk_from_a_local_feed()
    {
        var root = Path.Combine(Path.GetTempPath(), "afm-tests", "packed-" + Guid.NewGuid().ToString("N")[..12]);
        var feed = Path.Combine(root, "feed");
        var project = Path.Combine(root, "outside");
        try
        {
            var pack = ProcessRunner.Dotnet(RepositoryLayout.Root, "pack", "sdk/Afm.Sdk/Afm.Sdk.csproj", "-o", feed, "-nologo");
            Assert.True(pack.ExitCode == 0, pack.ToString());
            Assert.True(File.Exists(Path.Combine(feed, $"Afm.Sdk.{RepositoryLayout.SdkVersion}.nupkg")), pack.ToString());

            Directory.CreateDirectory(Path.Combine(project, "data"));
            // Its own package folder, so the packed SDK never shadows the in-tree one for other builds.
            File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <config><add key="globalPackagesFolder" value="{Path.Combine(root, "packages")}" /></config>
                  <packageSources><clear /><add key="local" value="{feed}" /></packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(project, "global.json"), $$"""{ "msbuild-sdks": { "Afm.Sdk": "{{RepositoryLayout.SdkVersion}}" } }""");
            File.WriteAllText(Path.Combine(project, "data", "corpus.jsonl"), MicroCorpus.Jsonl(documents: 200, seed: 3));
            File.WriteAllText(Path.Combine(project, "outside.afmproj"), MicroModel.Project().Replace("<EvalSet Include=\"data/eval.jsonl\" />", ""));

            var build = ProcessRunner.Dotnet(project, "build", "outside.afmproj", "-nologo", "-v:n", "-tl:off");

            Assert.True(build.ExitCode == 0, build.ToString());
            Assert.True(File.Exists(Path.Combine(project, "bin", "Debug", "micro.0.3.0.afmpkg")), build.ToString());
            // The compiler that ran is the one inside the package, not the repository's.
            Assert.Contains(Path.Combine(root, "packages", "afm.sdk"), build.Output);
            Assert.DoesNotContain("building the afm toolchain", build.Output);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }
}
