using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

[Collection(ToolchainCollection.Name)]
public sealed class MixChangeTests
{
    private const string Items = """
            <Tokenizer Include="bpe" VocabSize="320" />
            <Corpus Include="data/corpus.jsonl" Name="stories" />
            <Corpus Include="data/more.jsonl" Name="more" />
            <EvalSet Include="data/eval.jsonl" />
            <TrainingStage Include="core" Tokens="12k" SequenceLength="32" BatchSize="8" LearningRate="0.01" Warmup="5" Mix="MIX" />
        """;

    [Fact]
    public void Changing_only_Mix_reruns_data_packing_and_training_but_not_tokenizer_training()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items.Replace("MIX", "stories=0.75;more=0.25")));
        project.WriteFile("data/more.jsonl", MicroCorpus.Jsonl(documents: 200, seed: 11));
        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        var afm = project.PathOf("obj/Debug/afm");
        var tokenizerFiles = Directory.GetFiles(Path.Combine(afm, "tokenizer")).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var index = File.GetLastWriteTimeUtc(Path.Combine(afm, "data", "index.json"));
        var weights = File.GetLastWriteTimeUtc(Path.Combine(afm, "train", "model.safetensors"));

        project.WriteProject(MicroModel.Project(items: Items.Replace("MIX", "stories=0.25;more=0.75")));
        var rebuild = project.Build();

        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
        // The build log: the tokenizer target was skipped, data and train ran.
        Assert.DoesNotMatch(new Regex(@"^\s*tokenizer: ", RegexOptions.Multiline), rebuild.Output);
        Assert.Matches(new Regex(@"^\s*data: ", RegexOptions.Multiline), rebuild.Output);
        Assert.Matches(new Regex(@"^\s*train ", RegexOptions.Multiline), rebuild.Output);
        // The files in obj: the tokenizer's are untouched, the data index and the weights are new.
        foreach (var (file, written) in tokenizerFiles)
            Assert.Equal(written, File.GetLastWriteTimeUtc(file));
        Assert.True(File.GetLastWriteTimeUtc(Path.Combine(afm, "data", "index.json")) > index);
        Assert.True(File.GetLastWriteTimeUtc(Path.Combine(afm, "train", "model.safetensors")) > weights);
        // The artifact's data report shows the new mix.
        using var report = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")).Json("reports/data-report.json");
        var shares = report.RootElement.GetProperty("stages")[0].GetProperty("corpora").EnumerateArray()
            .ToDictionary(c => c.GetProperty("corpus").GetString()!, c => c.GetProperty("share").GetDouble());
        Assert.InRange(shares["more"], 0.7, 0.8);
        Assert.InRange(shares["stories"], 0.2, 0.3);
    }
}
