using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// The first project a new user writes: one corpus that is one big text file. It is one document, so before long
/// documents were cut into chunks the split sent it all to training and the quantize stage died on an empty
/// validation set.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class OneTextFileTests
{
    private const string Items = """
            <Tokenizer Include="bpe" VocabSize="320" />
            <Corpus Include="data/plays.txt" Name="plays" />
            <TrainingStage Include="core" Tokens="16k" SequenceLength="32" BatchSize="8" LearningRate="0.01" Warmup="5" />
            <QuantizationPlan Include="device" Bits="4" LowBits="2" GroupSize="16" TargetBitsPerWeight="3" CalibrationSequences="8" />
            <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="4" Tokens="2k" BatchSize="8" LearningRate="0.01" />
        """;

    /// <summary>About <paramref name="bytes"/> of play-like text: speakers and lines drawn from small lists by a fixed seed.</summary>
    private static string Plays(int bytes)
    {
        string[] speakers = ["ADA", "BO", "CY", "DI"];
        string[] lines = ["The kite is red and the sea is calm.", "Where is the lamp that you gave me?", "I will go to the boat at dawn.",
            "No, the book is gold, and the night is long.", "Come, sit by the fire and tell me a tale."];
        var text = new StringBuilder();
        uint state = 12345;
        int Next(int n) { state = state * 1664525u + 1013904223u; return (int)((state >> 8) % (uint)n); }
        for (var scene = 1; text.Length < bytes; scene++)
        {
            text.Append($"SCENE {scene}.\n\n");
            for (var i = 0; i < 12; i++)
                text.Append(speakers[Next(speakers.Length)]).Append(". ").Append(lines[Next(lines.Length)]).Append('\n');
            text.Append('\n');
        }
        return text.ToString();
    }

    [Fact]
    public void A_project_whose_only_corpus_is_one_big_text_file_builds_through_adapters_with_finite_validation_losses()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        project.WriteFile("data/plays.txt", Plays(200_000));

        var build = project.Build();

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.DoesNotContain("NaN", build.Output);
        Assert.DoesNotContain("n/a", build.Output);
        var artifact = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg"));
        foreach (var entry in new[] { "reports/training.json", "reports/quantization.json", "reports/adapters.json" })
        {
            Assert.True(artifact.Entries.ContainsKey(entry), entry);
            using var report = artifact.Json(entry);
            // A loss a report leaves out (null: a layer kept in float has no loss contribution) is not a NaN one.
            foreach (var (path, value) in Losses(report.RootElement, entry).Where(l => l.Value.ValueKind != JsonValueKind.Null))
                Assert.True(value.ValueKind == JsonValueKind.Number && double.IsFinite(value.GetDouble()), $"{path} is {value}");
        }
        using var training = artifact.Json("reports/training.json");
        Assert.True(training.RootElement.GetProperty("finalValidationLoss").GetDouble() > 0);
        using var quantization = artifact.Json("reports/quantization.json");
        var perplexity = quantization.RootElement.GetProperty("perplexity");
        Assert.True(perplexity.GetProperty("floatLoss").GetDouble() > 0 && perplexity.GetProperty("quantizedLoss").GetDouble() > 0, perplexity.ToString());
        using var adapters = artifact.Json("reports/adapters.json");
        var recovery = adapters.RootElement.GetProperty("adapters")[0];
        Assert.True(recovery.GetProperty("baseLoss").GetDouble() > 0 && recovery.GetProperty("adaptedLoss").GetDouble() > 0, recovery.ToString());
    }

    [Fact]
    public void A_corpus_whose_only_file_is_empty_is_AFM2002_at_the_corpus()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        project.WriteFile("data/plays.txt", "");

        var build = project.Build();

        Assert.Equal(1, build.ExitCode);
        Assert.Matches(new Regex(@"micro\.afmproj\(\d+,\d+\): error AFM2002: "), build.Output);
        Assert.DoesNotContain("AFM9003", build.Output);
    }

    [Fact]
    public void A_corpus_too_small_to_hold_out_validation_is_AFM2004_at_the_stage_before_training()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        project.WriteFile("data/plays.txt", Plays(300));

        var build = project.Build();

        Assert.Equal(1, build.ExitCode);
        var line = Array.FindIndex(File.ReadAllLines(project.ProjectPath), l => l.Contains("<TrainingStage", StringComparison.Ordinal)) + 1;
        Assert.Matches(new Regex($@"micro\.afmproj\({line},\d+\): error AFM2004: "), build.Output);
        Assert.DoesNotMatch(new Regex(@"^\s*train core:", RegexOptions.Multiline), build.Output);
    }

    /// <summary>Every number or value named like a loss or a perplexity, with its JSON path.</summary>
    private static IEnumerable<(string Path, JsonElement Value)> Losses(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                var child = $"{path}.{property.Name}";
                if ((property.Name.Contains("loss", StringComparison.OrdinalIgnoreCase) || property.Name.Contains("perplexity", StringComparison.OrdinalIgnoreCase))
                    && property.Value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
                    yield return (child, property.Value);
                foreach (var nested in Losses(property.Value, child))
                    yield return nested;
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in element.EnumerateArray())
                foreach (var nested in Losses(item, $"{path}[{i++}]"))
                    yield return nested;
        }
    }
}
