using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

[Collection(ToolchainCollection.Name)]
public sealed class EndToEndBuildTests
{
    private static readonly string[] StageProgress = ["validate:", "tokenizer:", "data:", "train ", "package:"];

    private static string PackagePath(ModelProject project, string outputFolder = "bin/Debug") =>
        project.PathOf($"{outputFolder}/micro.0.3.0.afmpkg");

    [Fact]
    public void Build_produces_an_artifact_whose_manifest_hashes_every_file()
    {
        using var project = ModelProject.Create(MicroModel.Project());

        var build = project.Build();

        Assert.True(build.ExitCode == 0, build.ToString());
        var artifact = ArtifactReader.Open(PackagePath(project));
        Assert.Equal("micro", artifact.Manifest.Name);
        Assert.Equal("0.3.0", artifact.Manifest.Version);
        Assert.Contains("model/model.safetensors", artifact.Entries.Keys);
        Assert.Contains("spec.json", artifact.Entries.Keys);
        Assert.Contains("reports/training.json", artifact.Entries.Keys);
        Assert.Contains("reports/training-loss.png", artifact.Entries.Keys);
        Assert.Contains(artifact.Entries.Keys, k => k.StartsWith("tokenizer/", StringComparison.Ordinal));
        var listed = artifact.Manifest.Files.Select(f => f.Path).Order(StringComparer.Ordinal);
        Assert.Equal(artifact.Entries.Keys.Where(k => k != "manifest.json").Order(StringComparer.Ordinal), listed);
        foreach (var file in artifact.Manifest.Files)
        {
            Assert.Equal(file.Size, artifact.Entries[file.Path].LongLength);
            Assert.Equal(file.Sha256, Convert.ToHexStringLower(SHA256.HashData(artifact.Entries[file.Path])));
        }
        var corpusInput = Assert.Single(artifact.Manifest.Inputs, i => i.Path == "data/corpus.jsonl");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(project.PathOf("data/corpus.jsonl")))), corpusInput.Sha256);
        Assert.Contains(artifact.Manifest.Inputs, i => i.Path == "micro.afmproj");
    }

    [Fact]
    public void The_trained_model_beats_the_unigram_baseline_of_its_validation_data()
    {
        using var project = ModelProject.Create(MicroModel.Project());

        var build = project.Build();

        Assert.True(build.ExitCode == 0, build.ToString());
        using var report = ArtifactReader.Open(PackagePath(project)).Json("reports/training.json");
        var root = report.RootElement;
        var final = root.GetProperty("finalValidationLoss").GetDouble();
        var unigram = root.GetProperty("unigramBaselineLoss").GetDouble();
        Assert.True(final < unigram - 0.1, $"validation loss {final} vs unigram baseline {unigram}");
        Assert.Matches(@"validation loss [0-9.]+ nats/token .* unigram baseline [0-9.]+", build.Output);
    }

    [Fact]
    public void A_second_build_runs_no_stage_and_question_mode_passes()
    {
        using var project = ModelProject.Create(MicroModel.Project());
        Assert.Equal(0, project.Build().ExitCode);

        var again = project.Build();
        var question = project.Build("-question");

        Assert.True(again.ExitCode == 0, again.ToString());
        foreach (var stage in StageProgress)
            Assert.DoesNotContain("progress: " + stage, again.Output);
        Assert.DoesNotMatch(new Regex(@"^\s*(validate|tokenizer|data|train|package): ", RegexOptions.Multiline), again.Output);
        Assert.True(question.ExitCode == 0, question.ToString());
    }

    [Fact]
    public void Touching_a_corpus_file_reruns_data_and_later_stages()
    {
        using var project = ModelProject.Create(MicroModel.Project());
        Assert.Equal(0, project.Build().ExitCode);

        File.SetLastWriteTimeUtc(project.PathOf("data/corpus.jsonl"), DateTime.UtcNow.AddSeconds(2));
        var rebuild = project.Build();

        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
        Assert.Matches(new Regex(@"^\s*data: ", RegexOptions.Multiline), rebuild.Output);
        Assert.Matches(new Regex(@"^\s*train ", RegexOptions.Multiline), rebuild.Output);
        Assert.Matches(new Regex(@"^\s*package: ", RegexOptions.Multiline), rebuild.Output);
        Assert.DoesNotMatch(new Regex(@"^\s*validate: ", RegexOptions.Multiline), rebuild.Output);
    }

    [Fact]
    public void Two_clean_builds_into_different_folders_give_the_same_artifact_bytes()
    {
        using var project = ModelProject.Create(MicroModel.Project());

        var first = project.Build("-p:BaseOutputPath=out1/", "-p:BaseIntermediateOutputPath=obj1/");
        var second = project.Build("-p:BaseOutputPath=out2/", "-p:BaseIntermediateOutputPath=obj2/");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        var a = File.ReadAllBytes(PackagePath(project, "out1/Debug"));
        var b = File.ReadAllBytes(PackagePath(project, "out2/Debug"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(a)), Convert.ToHexStringLower(SHA256.HashData(b)));
    }

    [Fact]
    public void Clean_removes_the_artifact_and_intermediate_outputs()
    {
        using var project = ModelProject.Create(MicroModel.Project());
        Assert.Equal(0, project.Build().ExitCode);

        var clean = project.Build("-t:Clean");

        Assert.True(clean.ExitCode == 0, clean.ToString());
        Assert.False(File.Exists(PackagePath(project)));
        Assert.False(Directory.Exists(project.PathOf("obj/Debug/afm")));
    }
}
