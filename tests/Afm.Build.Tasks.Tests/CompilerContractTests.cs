using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Core.Artifacts;
using Afm.Core.Spec;
using Microsoft.Build.Utilities;

namespace Afm.Build.Tasks.Tests;

/// <summary>
/// Two contracts the task assembly keeps without referencing Afm.Core (it loads inside MSBuild and ships alone in the
/// SDK package): the stage names from target to task to compiler verb (Afm.Core's StageLayout), and the project
/// snapshot's JSON (Afm.Core's ProjectSnapshot). This test project sees both sides, so neither can drift (issue #21).
/// </summary>
public sealed class CompilerContractTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("afm-contract-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Every_stage_has_one_name_for_its_target_task_and_verb()
    {
        var targets = string.Concat(Directory.GetFiles(SdkFolder(), "*.targets").Order(StringComparer.Ordinal).Select(File.ReadAllText));
        var stages = typeof(StageLayout).GetNestedTypes()
            .Select(type => (Class: type.Name, Verb: type.GetField("Name") is { IsLiteral: true } field ? (string)field.GetRawConstantValue()! : null))
            .Where(stage => stage.Verb is not null).ToList();
        Assert.Contains(stages, stage => stage.Verb == "export-adapters"); // the walk found the stages (an empty one would pass)

        foreach (var (stageClass, verb) in stages)
        {
            var name = "Afm" + stageClass;
            var taskType = typeof(AfmCompilerTask).Assembly.GetType("Afm.Build.Tasks." + name);
            Assert.True(taskType is not null, $"The stage '{verb}' (StageLayout.{stageClass}) has no task {name}.");
            var task = Activator.CreateInstance(taskType)!;
            var command = (string)taskType.GetProperty("Command", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(task)!;
            Assert.True(command == verb, $"Task {name} runs the verb '{command}', but its stage is '{verb}' (StageLayout.{stageClass}.Name).");
            Assert.True(targets.Contains($"<Target Name=\"{name}\"", StringComparison.Ordinal), $"No target {name} in the SDK's targets.");
            Assert.True(targets.Contains($"<{name} ", StringComparison.Ordinal), $"No target of the SDK runs the task {name}.");
        }
    }

    [Fact]
    public void The_snapshot_the_task_writes_is_read_by_the_compiler_field_for_field()
    {
        var stage = new TaskItem("core");
        stage.SetMetadata(AfmWriteProjectSnapshot.ItemTypeMetadata, "TrainingStage");
        stage.SetMetadata(AfmWriteProjectSnapshot.DefiningFileMetadata, "/m/tiny.afmproj");
        stage.SetMetadata("Tokens", "4M");
        var corpus = new TaskItem("/m/data/Web Text.txt");
        corpus.SetMetadata(AfmWriteProjectSnapshot.ItemTypeMetadata, "Corpus");
        corpus.SetMetadata(AfmWriteProjectSnapshot.NamesFileMetadata, "true");
        corpus.SetMetadata("Name", "wéb \"quoted\"");
        var seed = new TaskItem("Seed");
        seed.SetMetadata("Value", "7");
        var task = new AfmWriteProjectSnapshot
        {
            BuildEngine = new RecordingBuildEngine(), ProjectPath = "/m/tiny.afmproj", Properties = [seed], Items = [stage, corpus],
            OutputFile = Path.Combine(_directory, "project.snapshot.json"),
        };

        var written = task.Render();
        var read = JsonSerializer.Deserialize<ProjectSnapshot>(written, ProjectSnapshot.JsonOptions)!;

        // Written back by the compiler's own options, the snapshot it read holds every field the task wrote, no more.
        var readBack = JsonSerializer.SerializeToNode(read, ProjectSnapshot.JsonOptions);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(written), readBack), $"task wrote:\n{written}\ncompiler read:\n{readBack}");
        Assert.Equal("7", read.Properties["Seed"]);
        Assert.Equal(["TrainingStage", "Corpus"], read.Items.Select(i => i.Type));
        Assert.Equal("/m/tiny.afmproj", read.Items[0].DefiningFile);
        Assert.Equal("/m/data/Web Text.txt", read.Items[1].FullPath);
        Assert.Equal("wéb \"quoted\"", read.Items[1].Metadata["Name"]);
    }

    private static string SdkFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "AfmToolchain.sln")))
                return Path.Combine(directory.FullName, "sdk", "Afm.Sdk", "Sdk");
        throw new InvalidOperationException("The tests run outside the AfmToolchain repository.");
    }
}
