using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// Every user mistake in an .afmproj comes out of `dotnet build` as `path(line,col): error AFMnnnn: message`
/// at the line that holds the mistake, with exit code 1 and no stack trace.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class MalformedProjectTests
{
    public static TheoryData<string, string, string, string> Cases => new()
    {
        // name, text replaced in the micro project, replacement, expected code
        { "unknown stage kind", "Warmup=\"5\" />", "Warmup=\"5\" Kind=\"finetune-everything\" />", "AFM1402" },
        { "heads not dividing model dim", "<Heads>4</Heads>", "<Heads>5</Heads>", "AFM1101" },
        { "kv heads not dividing heads", "<KvHeads>2</KvHeads>", "<KvHeads>3</KvHeads>", "AFM1102" },
        { "unparsable token count", "Tokens=\"24k\"", "Tokens=\"4MM\"", "AFM1002" },
        { "negative layer count", "<Layers>2</Layers>", "<Layers>-2</Layers>", "AFM1003" },
        { "a layer count with a plus sign", "<Layers>2</Layers>", "<Layers>+1</Layers>", "AFM1002" },
        { "a device context longer than the model's", "Warmup=\"5\" />", "Warmup=\"5\" />\n    <DeviceProfile Include=\"phone-npu\" ContextTokens=\"4096\" />", "AFM5101" },
        { "missing corpus file", "data/corpus.jsonl", "data/missing.jsonl", "AFM1302" },
        { "corpus pattern matching nothing", "data/corpus.jsonl", "data/none/*.jsonl", "AFM1303" },
        {
            "duplicate stage names",
            "<TrainingStage Include=\"core\"",
            "<TrainingStage Include=\"core\" Tokens=\"1k\" SequenceLength=\"32\" />\n    <TrainingStage Include=\"core\"",
            "AFM1403"
        },
        { "mix naming an unknown corpus", "Warmup=\"5\" />", "Warmup=\"5\" Mix=\"stories=0.5;web=0.5\" />", "AFM1406" },
        // Values that parse but would eat the machine: refused by validate with the estimate, before any stage runs.
        { "a model dim whose default FfnDim overflows", "<ModelDim>32</ModelDim>", "<ModelDim>1000000000</ModelDim>", "AFM1009" },
        { "a hundred thousand layers", "<Layers>2</Layers>", "<Layers>100000</Layers>", "AFM1009" },
        { "a hundred million token vocabulary", "VocabSize=\"320\"", "VocabSize=\"100000000\"", "AFM1009" },
        { "a million-token sequence", "SequenceLength=\"32\"", "SequenceLength=\"1000000\"", "AFM1009" },
        { "terabytes of packed data", "Tokens=\"24k\"", "Tokens=\"999G\"", "AFM1009" },
        // Paths that are not ordinary files: refused by validate instead of read forever or failing inside a stage.
        { "a corpus that is a device", "data/corpus.jsonl", "/dev/zero", "AFM1306" },
        { "a corpus that is a folder", "data/corpus.jsonl", "data/.", "AFM1306" },
        {
            "sft data over the whole disk",
            "Warmup=\"5\" />",
            "Warmup=\"5\" />\n    <TrainingStage Include=\"chat\" Kind=\"sft\" Tokens=\"1k\" SequenceLength=\"32\" Data=\"/**/x.jsonl\" />",
            "AFM1306"
        },
        {
            "sft data that is a device",
            "Warmup=\"5\" />",
            "Warmup=\"5\" />\n    <TrainingStage Include=\"chat\" Kind=\"sft\" Tokens=\"1k\" SequenceLength=\"32\" Data=\"/dev/zero\" />",
            "AFM1306"
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_malformed_project_fails_with_its_code_at_the_offending_line(string name, string find, string replace, string code)
    {
        var xml = MicroModel.Project();
        Assert.Contains(find, xml);
        // The mistake sits on the last line the replacement touches (for a duplicate, the second declaration).
        var marker = replace.Split('\n')[^1];
        var lines = xml.Replace(find, replace).Split('\n');
        var expectedLine = Array.FindLastIndex(lines, l => l.Contains(marker.Trim(), StringComparison.Ordinal)) + 1;
        using var project = ModelProject.Create(string.Join('\n', lines));

        var build = project.Build();

        Assert.True(build.ExitCode == 1, $"{name}: expected exit code 1\n{build}");
        var diagnostic = new Regex(@"micro\.afmproj\((?<line>\d+),(?<col>\d+)\): error " + code + ": ");
        var match = diagnostic.Match(build.Output);
        Assert.True(match.Success, $"{name}: no {code} diagnostic with a location\n{build}");
        Assert.Equal(expectedLine, int.Parse(match.Groups["line"].Value));
        Assert.True(int.Parse(match.Groups["col"].Value) > 0);
        Assert.DoesNotContain("   at ", build.Output);
        Assert.DoesNotContain("Exception", build.Output);
    }

    [Fact]
    public void Unknown_metadata_is_a_warning_and_the_build_goes_on_to_validate()
    {
        using var project = ModelProject.Create(MicroModel.Project().Replace("Warmup=\"5\" />", "Warmup=\"5\" LearningRat=\"0.1\" />"));

        var build = project.Build("-t:AfmValidate");

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Matches(@"micro\.afmproj\(\d+,\d+\): warning AFM1006: ", build.Output);
    }
}
