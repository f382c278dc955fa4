namespace Afm.Core.Tests.Spec;

/// <summary>AfmChatTemplate: a Jinja file of the project, read by the package stage; validate checks it can be read.</summary>
public sealed class ChatTemplatePropertyTests
{
    private const string Property = "<Heads>8</Heads>\n    <AfmChatTemplate>chat.jinja</AfmChatTemplate>";

    [Fact]
    public void Without_the_property_there_is_no_project_template()
    {
        using var project = new TestProject();
        Assert.Null(project.Read().Spec!.ChatTemplate);
    }

    [Fact]
    public void The_file_is_resolved_against_the_project_folder()
    {
        using var project = TestProject.With("<Heads>8</Heads>", Property);
        var file = project.WriteFile("chat.jinja", "{% for m in messages %}{{ m.content }}{% endfor %}");
        Assert.Equal(Path.GetFullPath(file), project.Read().Spec!.ChatTemplate!.Path);
    }

    [Fact]
    public void A_missing_file_is_AFM1658_at_the_property()
    {
        using var project = TestProject.With("<Heads>8</Heads>", Property);
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1658", project.Locate("<AfmChatTemplate>"));
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void A_file_that_is_not_UTF8_is_AFM1658()
    {
        using var project = TestProject.With("<Heads>8</Heads>", Property);
        File.WriteAllBytes(project.WriteFile("chat.jinja", ""), [0x7b, 0x7b, 0xff, 0xfe, 0x7d, 0x7d]);
        Assert.Contains("UTF-8", DiagnosticAssert.SingleError(project.Read(), "AFM1658", project.Locate("<AfmChatTemplate>")).Message);
    }

    [Fact]
    public void A_folder_is_AFM1658()
    {
        using var project = TestProject.With("<Heads>8</Heads>", Property);
        System.IO.Directory.CreateDirectory(Path.Combine(project.Directory, "chat.jinja"));
        DiagnosticAssert.SingleError(project.Read(), "AFM1658", project.Locate("<AfmChatTemplate>"));
    }
}
