using System.Security.Cryptography;
using System.Text.Json;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>Every artifact carries an in-toto/SLSA provenance statement of its inputs, with nothing of the machine that built it.</summary>
[Collection(ToolchainCollection.Name)]
public sealed class ProvenanceBuildTests
{
    [Fact]
    public void The_provenance_statement_names_every_entry_and_input_by_digest_with_paths_relative_to_the_project()
    {
        using var project = ModelProject.Create(MicroModel.Project());
        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        var package = project.PathOf("bin/Debug/micro.0.3.0.afmpkg");
        var artifact = ArtifactReader.Open(package);
        Assert.Contains(artifact.Manifest.Files, f => f.Path == "provenance.json");
        var provenanceText = System.Text.Encoding.UTF8.GetString(artifact.Entries["provenance.json"]);
        using var statement = JsonDocument.Parse(provenanceText);
        var root = statement.RootElement;

        Assert.Equal("https://in-toto.io/Statement/v1", root.GetProperty("_type").GetString());
        Assert.Equal("https://slsa.dev/provenance/v1", root.GetProperty("predicateType").GetString());
        var subjects = root.GetProperty("subject").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("digest").GetProperty("sha256").GetString());
        var expected = artifact.Entries.Where(e => e.Key is not ("manifest.json" or "provenance.json"))
            .ToDictionary(e => e.Key, e => (string?)Convert.ToHexStringLower(SHA256.HashData(e.Value)));
        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), subjects.OrderBy(e => e.Key, StringComparer.Ordinal));

        var definition = root.GetProperty("predicate").GetProperty("buildDefinition");
        var dependencies = definition.GetProperty("resolvedDependencies").EnumerateArray()
            .Where(d => d.TryGetProperty("uri", out _))
            .ToDictionary(d => d.GetProperty("uri").GetString()!, d => d.GetProperty("digest").GetProperty("sha256").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(project.ProjectPath))), dependencies["micro.afmproj"]);
        foreach (var input in artifact.Manifest.Inputs) Assert.Equal(input.Sha256, dependencies[input.Path]);
        Assert.Equal(42, definition.GetProperty("externalParameters").GetProperty("seed").GetInt64());
        Assert.Contains(definition.GetProperty("externalParameters").GetProperty("determinism").GetString(), new[] { "portable", "machine" });

        // Nothing of this machine or folder: the artifact must be byte-identical wherever it is built.
        Assert.DoesNotContain(project.Directory, provenanceText);
        Assert.DoesNotContain(Path.GetTempPath(), provenanceText);
        Assert.DoesNotContain($"\"{Environment.UserName}", provenanceText);
        Assert.DoesNotContain(DateTime.UtcNow.ToString("yyyy-MM-dd"), provenanceText);

        var verify = ProcessRunner.Dotnet(project.Directory, RepositoryLayout.Compiler, "verify", package);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("signer: none (unsigned artifact)", verify.Output);
        Assert.Matches(@"provenance: https://slsa.dev/provenance/v1, builder urn:afm:builder:afm-package \(.+\); \d+ subjects; inputs: .*1 project", verify.Output);
    }
}
