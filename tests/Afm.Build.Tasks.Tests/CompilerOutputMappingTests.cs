using Microsoft.Build.Framework;

namespace Afm.Build.Tasks.Tests;

/// <summary>The compiler's stdout becomes MSBuild errors, warnings and messages with file, line, column and code.</summary>
public sealed class CompilerOutputMappingTests
{
    private sealed class ProbeTask : AfmCompilerTask
    {
        protected override string Command => "probe";
        protected override void AddArguments(ResponseFileBuilder arguments) { }
        public void Emit(string line) => LogEventsFromTextOutput(line, MessageImportance.Normal);
    }

    private static (ProbeTask Task, RecordingBuildEngine Engine) Create()
    {
        var engine = new RecordingBuildEngine();
        return (new ProbeTask { BuildEngine = engine, CompilerPath = "/afm.dll" }, engine);
    }

    [Fact]
    public void A_canonical_error_line_becomes_an_error_with_its_location_and_code()
    {
        var (task, engine) = Create();

        task.Emit("/m/tiny.afmproj(14,28): error AFM1402: Unknown stage kind 'x'.");

        var error = Assert.Single(engine.Errors);
        Assert.Equal(("/m/tiny.afmproj", 14, 28, "AFM1402"), (error.File, error.LineNumber, error.ColumnNumber, error.Code));
        Assert.Equal("Unknown stage kind 'x'.", error.Message);
    }

    [Fact]
    public void A_canonical_warning_line_becomes_a_warning()
    {
        var (task, engine) = Create();

        task.Emit("/m/tiny.afmproj(3,5): warning AFM1006: Unknown metadata 'LearningRat'.");

        var warning = Assert.Single(engine.Warnings);
        Assert.Equal(("AFM1006", 3, 5), (warning.Code, warning.LineNumber, warning.ColumnNumber));
        Assert.Empty(engine.Errors);
    }

    [Fact]
    public void Progress_lines_are_high_importance_messages_without_the_prefix()
    {
        var (task, engine) = Create();

        task.Emit("progress: train core: step 10/40 loss 3.1");

        var message = Assert.Single(engine.Messages);
        Assert.Equal(MessageImportance.High, message.Importance);
        Assert.Equal("train core: step 10/40 loss 3.1", message.Message);
    }

    [Fact]
    public void Other_lines_are_normal_messages()
    {
        var (task, engine) = Create();

        task.Emit("tokenizer: 900 merges");

        Assert.Equal(MessageImportance.Normal, Assert.Single(engine.Messages).Importance);
        Assert.Empty(engine.Errors);
    }

    [Fact]
    public void A_missing_compiler_is_reported_as_AFM9002_before_anything_runs()
    {
        var engine = new RecordingBuildEngine();
        var task = new AfmValidate { BuildEngine = engine, CompilerPath = "/nowhere/afm.dll", SnapshotFile = "s.json", OutputDirectory = "o" };

        Assert.False(task.Execute());

        Assert.Equal("AFM9002", Assert.Single(engine.Errors).Code);
    }
}
