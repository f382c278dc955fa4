using Microsoft.Build.Utilities;
using Snapshooter.Xunit;

namespace Afm.Build.Tasks.Tests;

/// <summary>The project snapshot: the one contract between MSBuild's evaluation and the compiler.</summary>
public sealed class ProjectSnapshotWriterTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("afm-snapshot-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private AfmWriteProjectSnapshot CreateTask(RecordingBuildEngine engine, string seed = "7")
    {
        var stage = new TaskItem("core");
        stage.SetMetadata("AfmItemType", "TrainingStage");
        stage.SetMetadata("AfmDefiningFile", "/m/tiny.afmproj");
        stage.SetMetadata("Tokens", "4M");
        stage.SetMetadata("LearningRate", "3e-4");
        var corpus = new TaskItem("/m/data/web.txt");
        corpus.SetMetadata("AfmItemType", "Corpus");
        corpus.SetMetadata("AfmNamesFile", "true");
        corpus.SetMetadata("Name", "web");
        var seedProperty = new TaskItem("Seed");
        seedProperty.SetMetadata("Value", seed);
        var emptyProperty = new TaskItem("KvHeads");
        emptyProperty.SetMetadata("Value", "");
        return new AfmWriteProjectSnapshot
        {
            BuildEngine = engine,
            ProjectPath = "/m/tiny.afmproj",
            Properties = [seedProperty, emptyProperty],
            Items = [stage, corpus],
            OutputFile = Path.Combine(_directory, "project.snapshot.json"),
        };
    }

    [Fact]
    public void The_snapshot_holds_set_properties_and_items_with_custom_metadata_only()
    {
        var task = CreateTask(new RecordingBuildEngine());

        Snapshot.Match(task.Render());
    }

    [Fact]
    public void An_unchanged_snapshot_keeps_its_timestamp()
    {
        var task = CreateTask(new RecordingBuildEngine());
        Assert.True(task.Execute());
        var written = DateTime.UtcNow.AddMinutes(-5);
        File.SetLastWriteTimeUtc(task.OutputFile, written);

        Assert.True(task.Execute());

        Assert.Equal(written, File.GetLastWriteTimeUtc(task.OutputFile));
    }

    [Fact]
    public void In_question_mode_a_snapshot_that_would_change_fails_the_build()
    {
        var engine = new RecordingBuildEngine();
        Assert.True(CreateTask(engine).Execute());
        var changed = CreateTask(engine, seed: "8");
        changed.FailIfNotIncremental = true;

        Assert.False(changed.Execute());

        Assert.Contains("not up to date", Assert.Single(engine.Errors).Message);
    }
}
