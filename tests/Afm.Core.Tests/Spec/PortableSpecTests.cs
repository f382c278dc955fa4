using System.Text.Json;
using System.Text.Json.Serialization;
using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>spec.json in the artifact: nothing that depends on the folder the project was built in (specs/artifact.md).</summary>
public sealed class PortableSpecTests
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private const string Anchor = "<EvalSet Include=\"data/eval/*.txt\" />";

    // Every item kind that carries a location or a path: sft Data, adapter Data, devices, plan budgets, a teacher.
    private const string Items = """
        <TrainingStage Include="sft" Kind="sft" Tokens="100k" SequenceLength="256" Data="data/sft/*.jsonl" />
        <QuantizationPlan Include="device" TargetBitsPerWeight="3.7" Device="phone-npu" />
        <DeviceProfile Include="phone-npu" />
        <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="16" Tokens="200k" />
        <Adapter Include="summarize" Rank="16" InitFrom="recovery" Tokens="50k" Data="data/summaries/*.jsonl" />
        <Teacher Include="teacher/teacher.afmproj" />
        """;

    private static TestProject Everything(string xml = TestProject.ValidXml)
    {
        var project = new TestProject(xml.Replace(Anchor, Anchor + "\n" + Items));
        project.WriteFile("data/sft/a.jsonl", "{\"prompt\": \"1+1=\", \"response\": \"2\"}\n");
        project.WriteFile("data/summaries/a.jsonl", "{\"prompt\":\"p\",\"response\":\"r\"}\n");
        project.WriteFile("teacher/teacher.afmproj", "<Project Sdk=\"Afm.Sdk\" />");
        return project;
    }

    private static ModelSpec Read(TestProject project)
    {
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        return result.Spec!;
    }

    [Fact]
    public void No_absolute_path_and_no_source_location_of_any_item_kind_reaches_the_artifact()
    {
        using var project = Everything();
        var spec = Read(project);
        // The spec itself keeps both: stages after validate need the files and the diagnostics need the lines.
        Assert.Contains(project.Directory, JsonSerializer.Serialize(spec, Options));
        Assert.NotNull(spec.Adapters[^1].Location);

        var text = PortableSpec.Serialize(spec, Options);
        Assert.DoesNotContain(project.Directory, text);
        Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), text);
        Assert.DoesNotContain("ocation\"", text);
        Assert.DoesNotContain("\"line\"", text);
    }

    [Fact]
    public void Paths_become_relative_to_the_project_with_forward_slashes()
    {
        using var project = Everything();
        using var document = JsonDocument.Parse(PortableSpec.Serialize(Read(project), Options));
        var root = document.RootElement;
        Assert.Equal("tiny.afmproj", root.GetProperty("projectPath").GetString());
        Assert.Equal(["data/code/lib/x.cs"], root.GetProperty("corpora")[1].GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(["data/sft/a.jsonl"], root.GetProperty("trainingStages").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "sft").GetProperty("data").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(["data/summaries/a.jsonl"], root.GetProperty("adapters").EnumerateArray().Last().GetProperty("data").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("teacher/teacher.afmproj", root.GetProperty("teacher").GetProperty("projectPath").GetString());
    }

    [Fact]
    public void The_same_project_in_two_folders_gives_the_same_text()
    {
        using var a = Everything();
        using var b = Everything();
        Assert.NotEqual(a.Directory, b.Directory);
        Assert.Equal(PortableSpec.Serialize(Read(a), Options), PortableSpec.Serialize(Read(b), Options));
    }

    [Fact]
    public void Text_that_only_looks_like_a_path_is_kept_as_written()
    {
        // A special token that starts with '/' names no file: the rule relativizes only absolute paths that exist.
        using var project = new TestProject(TestProject.ValidXml.Replace("&lt;bos&gt;;&lt;eos&gt;", "/;/end;&lt;eos&gt;"));
        using var document = JsonDocument.Parse(PortableSpec.Serialize(Read(project), Options));
        Assert.Equal(["/", "/end", "<eos>"],
            document.RootElement.GetProperty("tokenizer").GetProperty("specialTokens").EnumerateArray().Select(t => t.GetString()));
    }
}
