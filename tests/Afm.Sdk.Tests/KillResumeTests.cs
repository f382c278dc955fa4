using System.Diagnostics;
using System.Security.Cryptography;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>A build killed with SIGKILL in the middle of a training stage resumes from its last checkpoint, exactly.</summary>
[Collection(ToolchainCollection.Name)]
public sealed class KillResumeTests
{
    // ~470 steps of the micro model, a resumable checkpoint every 20: long enough to be killed mid-stage.
    private const string Items = """
            <Tokenizer Include="bpe" VocabSize="320" />
            <Corpus Include="data/corpus.jsonl" Name="stories" />
            <TrainingStage Include="core" Tokens="120k" SequenceLength="32" BatchSize="8" LearningRate="0.01" Warmup="5" CheckpointEvery="20" />
        """;

    [Fact]
    public void A_build_killed_mid_stage_resumes_and_produces_byte_identical_weights()
    {
        using var reference = ModelProject.Create(MicroModel.Project(items: Items));
        var uninterrupted = reference.Build();
        Assert.True(uninterrupted.ExitCode == 0, uninterrupted.ToString());

        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        BuildUntilMidStageCheckpointThenKill(project);
        // A later checkpoint may have replaced the one seen, but one complete checkpoint is always there.
        Assert.NotEmpty(Directory.GetDirectories(project.Directory, "core.step-*", SearchOption.AllDirectories));
        Assert.DoesNotContain(Directory.GetFiles(project.Directory, "model.safetensors", SearchOption.AllDirectories),
            f => Path.GetFileName(Path.GetDirectoryName(f)) == "train");

        var resumed = project.Build();

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Matches(@"train core: resuming at step \d+/", resumed.Output);
        Assert.Equal(Sha256(TrainedWeights(reference)), Sha256(TrainedWeights(project)));
    }

    internal static string TrainedWeights(ModelProject project) =>
        Directory.GetFiles(project.Directory, "model.safetensors", SearchOption.AllDirectories)
            .Single(f => Path.GetFileName(Path.GetDirectoryName(f)) == "train");

    internal static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>Starts `dotnet build`, waits for the first mid-stage checkpoint of <paramref name="stage"/>, then SIGKILLs the whole process tree.</summary>
    internal static void BuildUntilMidStageCheckpointThenKill(ModelProject project, string stage = "core")
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = project.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "build", project.ProjectPath, "-nologo", "-v:n", "-tl:off" }) info.ArgumentList.Add(argument);
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            info.Environment.Remove(name);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";

        using var build = Process.Start(info)!;
        build.OutputDataReceived += (_, _) => { };
        build.ErrorDataReceived += (_, _) => { };
        build.BeginOutputReadLine();
        build.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        string? checkpoint = null;
        while (checkpoint is null && !build.HasExited && deadline.Elapsed < TimeSpan.FromMinutes(10))
        {
            checkpoint = Directory.GetDirectories(project.Directory, $"{stage}.step-*", SearchOption.AllDirectories).FirstOrDefault();
            if (checkpoint is null) Thread.Sleep(20);
        }
        Assert.False(build.HasExited, "the build finished before a mid-stage checkpoint was seen");
        Assert.NotNull(checkpoint);
        build.Kill(entireProcessTree: true); // SIGKILL to dotnet, the MSBuild nodes and the afm compiler
        build.WaitForExit();
    }
}
