using Afm.Runtime.Tests;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// The check a template passes before it is used, by <c>afm serve</c> (AFM7013) and by the tokenizer stage on a
/// checkpoint's template (AFM1657): rendering a fixed conversation.
/// </summary>
public sealed class ChatTemplateCheckTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    public static TheoryData<string> Templates() => new(ChatTemplateFiles.Names);

    [Theory]
    [MemberData(nameof(Templates))]
    public void Every_real_template_passes(string name)
    {
        using var template = ChatTemplate.Checked(fixture.Model.Tokenizer, ChatTemplateFiles.Read(name).Template);
        Assert.NotEmpty(template.Render(ChatTemplate.SampleConversation(), tools: null));
    }

    [Theory]
    [InlineData("{% for m in messages %}{{ m.content }")]
    [InlineData("{% for m in messages %}{{ m.content }}")]
    [InlineData("{{ raise_exception('no chat here') }}")]
    public void A_template_that_does_not_render_fails_with_its_message(string text) =>
        Assert.NotEmpty(Assert.Throws<ChatTemplateException>(() => ChatTemplate.Checked(fixture.Model.Tokenizer, text)).Message);
}
