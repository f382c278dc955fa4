using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// Same project, seed and threads: the same artifact bytes in any folder, from a toolchain in any folder, and on a CPU
/// with fewer instructions (specs/afmproj.md, "Determinism"). The micro project runs every numeric stage (train,
/// quantize with a device budget, an adapter) and every item kind whose settings once leaked paths or source lines.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class DeterminismTests(DeterminismTests.Reference reference) : IClassFixture<DeterminismTests.Reference>
{
    private static readonly string Items = MicroModel.Items + """
                <DeviceProfile Include="phone-npu" />
                <QuantizationPlan Include="device" Bits="4" LowBits="2" GroupSize="16" CalibrationSequences="4" TuningSteps="4" Device="phone-npu" />
                <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="4" Tokens="2k" />
        """;

    private const string Package = "bin/Debug/micro.0.3.0.afmpkg";

    // Explicit, so the tests mean the same outside CI (where the SDK's default is machine).
    private static readonly string Properties = MicroModel.Properties + "<AfmDeterminism>portable</AfmDeterminism>";

    /// <summary>
    /// What the numeric libraries would see on an x86-64 CPU without AVX-512: MKL and oneDNN cap their dispatch, .NET
    /// turns off its AVX-512 paths, and ATen is asked for its AVX2 kernels. Each of these changed the micro model's
    /// numbers on its own when nothing was pinned.
    /// </summary>
    private static readonly Dictionary<string, string> Avx2OnlyCpu = new()
    {
        ["MKL_ENABLE_INSTRUCTIONS"] = "AVX2",
        ["ONEDNN_MAX_CPU_ISA"] = "AVX2",
        ["ATEN_CPU_CAPABILITY"] = "avx2",
        ["DOTNET_EnableAVX512F"] = "0",
    };

    /// <summary>The artifact every test compares with: the micro project built once, as a user would.</summary>
    public sealed class Reference : IDisposable
    {
        public ModelProject Project { get; } = ModelProject.Create(MicroModel.Project(Properties, Items));
        public byte[] Artifact { get; }

        public Reference()
        {
            var build = Project.Build();
            if (build.ExitCode != 0) throw new InvalidOperationException(build.ToString());
            Artifact = File.ReadAllBytes(Project.PathOf(Package));
        }

        public void Dispose() => Project.Dispose();
    }

    [Fact]
    public void The_same_project_in_another_folder_builds_the_same_artifact_bytes()
    {
        using var other = ModelProject.Create(MicroModel.Project(Properties, Items), projectName: "micro");
        Assert.NotEqual(reference.Project.Directory, other.Directory);
        AssertSameArtifact(other, other.Build());
    }

    [Fact]
    public void A_toolchain_in_another_folder_builds_the_same_artifact_bytes()
    {
        using var other = ModelProject.Create(MicroModel.Project(Properties, Items));
        var toolchain = Path.Combine(other.Directory, "toolchain");
        CopyToolchain(Path.GetDirectoryName(RepositoryLayout.Compiler)!, toolchain);
        AssertSameArtifact(other, other.Build($"-p:AfmCompilerPath={Path.Combine(toolchain, "afm.dll")}"));
    }

    [Fact]
    public void A_cpu_without_avx512_builds_the_same_artifact_bytes()
    {
        using var other = ModelProject.Create(MicroModel.Project(Properties, Items));
        AssertSameArtifact(other, other.BuildWith(Avx2OnlyCpu));
    }

    [Fact]
    public void Switching_the_mode_retrains_and_is_recorded_but_keeps_the_tokenizer_and_data()
    {
        using var project = ModelProject.Create(MicroModel.Project(Properties));
        var portable = project.Build();
        Assert.True(portable.ExitCode == 0, portable.ToString());
        var machine = project.Build("-p:AfmDeterminism=machine");
        Assert.True(machine.ExitCode == 0, machine.ToString());
        Assert.Matches(new System.Text.RegularExpressions.Regex(@"^\s*train core:", System.Text.RegularExpressions.RegexOptions.Multiline), machine.Output);
        // Trained again, not taken from the portable build's checkpoint (whose weights the other kernels computed).
        Assert.DoesNotContain("train core: up to date", machine.Output);
        Assert.DoesNotContain("tokenizer: ", machine.Output);
        Assert.DoesNotContain("data: ", machine.Output);
        using var spec = ArtifactReader.Open(project.PathOf(Package)).Json("spec.json");
        Assert.Equal("machine", spec.RootElement.GetProperty("determinism").GetString());
        Assert.True(project.Build("-p:AfmDeterminism=machine", "-question").ExitCode == 0, "an unchanged build in machine mode is up to date");
    }

    private void AssertSameArtifact(ModelProject other, ProcessResult build)
    {
        Assert.True(build.ExitCode == 0, build.ToString());
        var bytes = File.ReadAllBytes(other.PathOf(Package));
        if (bytes.AsSpan().SequenceEqual(reference.Artifact)) return;
        // Name the entries that differ: that says which stage stopped being deterministic.
        var expected = ArtifactReader.Open(reference.Project.PathOf(Package));
        var actual = ArtifactReader.Open(other.PathOf(Package));
        var differing = expected.Entries.Keys.Union(actual.Entries.Keys).Order(StringComparer.Ordinal)
            .Where(name => !expected.Entries.TryGetValue(name, out var a) || !actual.Entries.TryGetValue(name, out var b) || !a.AsSpan().SequenceEqual(b));
        Assert.Fail("The artifacts differ in: " + string.Join(", ", differing));
    }

    /// <summary>
    /// The compiler's output folder under another path: the top folder (afm.dll and the assemblies, so the host runs the
    /// compiler from there) copied, the native libraries below it linked (they hold 2 GB, the same bytes either way).
    /// </summary>
    private static void CopyToolchain(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source))
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        foreach (var directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(destination, Path.GetRelativePath(source, directory)));
        foreach (var directory in Directory.EnumerateDirectories(source))
            foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
                File.CreateSymbolicLink(Path.Combine(destination, Path.GetRelativePath(source, file)), file);
    }
}
