using System.Diagnostics;
using Afm.Core.Diagnostics;
using Afm.Runtime;
using Afm.Runtime.Tests;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// A chat template is code run by ONNX Runtime GenAI's renderer, which has no limits of its own: these templates hung,
/// took gigabytes or ended the process that rendered them. Each is now stopped with the template's error, and the
/// caller (the server, the tokenizer stage's check) goes on.
/// </summary>
public sealed class HostileChatTemplateTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    /// <summary>10^10 iterations over small lists: time without memory.</summary>
    private const string EndlessLoop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";

    [Fact]
    public void A_loop_without_end_is_stopped_at_the_deadline()
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Checked(fixture.Model.Tokenizer, EndlessLoop));
        Assert.Contains("longer than", e.Message);
        Assert.InRange(clock.Elapsed, ChatTemplateRenderer.TimeLimit, ChatTemplateRenderer.TimeLimit + TimeSpan.FromSeconds(60));
    }

    [Theory]
    [InlineData("{% for i in range(1000000000) %}{% endfor %}")] // minja makes the range a list
    [InlineData("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}")]
    public void A_template_that_takes_memory_without_bound_is_stopped(string text) =>
        // At the memory limit, or at the deadline first when the machine is too loaded to allocate that fast.
        Assert.Contains("was stopped", Assert.Throws<ChatTemplateException>(() => ChatTemplate.Checked(fixture.Model.Tokenizer, text)).Message);

    [Fact]
    public void A_recursion_that_overflows_the_stack_does_not_end_this_process()
    {
        using var template = ChatTemplate.Load("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", null, null);
        for (int i = 0; i < 2; i++) // the second render starts a new renderer, which overflows too
            Assert.Contains("stopped", Assert.Throws<ChatTemplateException>(() => template.Render(ChatTemplate.SampleConversation(), tools: null)).Message);
    }

    [Fact]
    public async Task A_template_that_hangs_stops_the_server_at_start()
    {
        var e = await Assert.ThrowsAsync<DiagnosticException>(() => TestServer.StartAsync(fixture.Model, new ServerOptions { ChatTemplate = EndlessLoop }));
        Assert.Equal(RuntimeCodes.ChatTemplateUnusable, e.Diagnostic.Code);
        Assert.Contains("longer than", e.Diagnostic.Message);
    }

    [Fact]
    public async Task A_request_that_makes_the_template_loop_is_a_400_and_the_next_request_is_served()
    {
        // Renders the fixed check's short turns, but loops on the square of a message's length.
        const string text = "{% for m in messages %}{% for i in range(m.content|length) %}{% for j in range(m.content|length) %}{% endfor %}{% endfor %}{{ m.role }}: {{ m.content }}\n{% endfor %}assistant:";
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions { ChatTemplate = text });
        var content = new string('a', 200_000);
        var response = await test.Post("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"{{content}}"}],"max_tokens":2}""");
        Assert.Equal(400, (int)response.StatusCode);
        var error = (await TestServer.Json(response)).GetProperty("error");
        Assert.Equal("chat_template_error", error.GetProperty("code").GetString());
        Assert.Contains("longer than", error.GetProperty("message").GetString());

        var next = await test.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hello"}],"max_tokens":2}""");
        Assert.Equal(200, (int)next.StatusCode);
    }
}
