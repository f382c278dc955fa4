using System.Text;
using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// AfmChatTemplate end to end: the project's Jinja file is checked by the build, travels into the artifact as
/// tokenizer/chat_template.jinja where `afm run --chat` (and `afm serve`) find it, and editing it re-packages without
/// re-training.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class ProjectChatTemplateBuildTests
{
    private const string Package = "bin/Debug/micro.0.3.0.afmpkg";
    private const string HfTemplate = "bin/Debug/micro.0.3.0.hf/chat_template.jinja";
    private static readonly string Properties = MicroModel.Properties
        + "\n    <AfmChatTemplate>chat/template.jinja</AfmChatTemplate>\n    <AfmExportFormats>huggingface</AfmExportFormats>";

    // Renders the build's three-message check and a chat's first turn, refuses more messages: a run that meets the
    // refusal proves it rendered with this template, not the transcript.
    private const string Limited = "{% if messages|length > 3 %}{{ raise_exception('LIMIT ' ~ (messages|length)) }}{% endif %}"
        + "{% for m in messages %}{{ m.content }}{% endfor %}"; // short: the micro model's context is 32 tokens

    [Fact]
    public void The_template_travels_into_the_artifact_and_an_edit_repackages_without_retraining()
    {
        using var project = ModelProject.Create(MicroModel.Project(properties: Properties));
        project.WriteFile("chat/template.jinja", Limited.Replace("LIMIT", "first"));
        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(Limited.Replace("LIMIT", "first"), Entry(project));
        Assert.Equal(Limited.Replace("LIMIT", "first"), File.ReadAllText(project.PathOf(HfTemplate))); // transformers' file of the Hugging Face folder
        Assert.True(project.Build("-question").ExitCode == 0, "an unchanged project with a chat template is up to date");

        // The artifact's template is the one a chat renders with: a third turn (five messages) meets its refusal.
        var chat = ProcessRunner.Run("dotnet", [RepositoryLayout.Compiler, "run", project.PathOf(Package), "--chat", "--temperature", "0", "--max-tokens", "2"],
            project.Directory, TimeSpan.FromMinutes(2), input: "a\nb\nc\n");
        Assert.True(chat.ExitCode == 1 && chat.Output.Contains("error AFM7014: the chat template refused the conversation: "), chat.ToString());
        Assert.Contains("first 5", chat.Output);

        var weights = File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/train/model.safetensors"));
        var tokenizer = File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/tokenizer/tokenizer.json"));
        project.WriteFile("chat/template.jinja", Limited.Replace("LIMIT", "second"));
        var edited = project.Build();
        Assert.True(edited.ExitCode == 0, edited.ToString());
        Assert.DoesNotMatch(new Regex(@"^\s*(tokenizer|data|train)[: ]", RegexOptions.Multiline), edited.Output);
        Assert.Matches(new Regex(@"^\s*package: ", RegexOptions.Multiline), edited.Output);
        Assert.Equal(weights, File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/train/model.safetensors")));
        Assert.Equal(tokenizer, File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/tokenizer/tokenizer.json")));
        Assert.Equal(Limited.Replace("LIMIT", "second"), Entry(project));
        Assert.Equal(Limited.Replace("LIMIT", "second"), File.ReadAllText(project.PathOf(HfTemplate)));
        Assert.True(project.Build("-question").ExitCode == 0, "the edited project is up to date after its build");

        // A template that does not render is AFM1659 at the property, from the package stage (nothing else re-runs).
        project.WriteFile("chat/template.jinja", "{% for m in messages %}{{ m.content }");
        var broken = project.Build();
        Assert.NotEqual(0, broken.ExitCode);
        Assert.Matches(new Regex(@"micro\.afmproj\(\d+,\d+\): error AFM1659: AfmChatTemplate: chat/template\.jinja cannot render"), broken.Output);
        Assert.DoesNotMatch(new Regex(@"^\s*train[: ]", RegexOptions.Multiline), broken.Output);

        // A file that is gone is AFM1658 at the property, from validate.
        File.Delete(project.PathOf("chat/template.jinja"));
        var missing = project.Build();
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Matches(new Regex(@"micro\.afmproj\(\d+,\d+\): error AFM1658: AfmChatTemplate is 'chat/template\.jinja', which does not exist"), missing.Output);
    }

    private static string Entry(ModelProject project) =>
        Encoding.UTF8.GetString(ArtifactReader.Open(project.PathOf(Package)).Entries["tokenizer/chat_template.jinja"]);
}
