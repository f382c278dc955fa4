using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Runtime;
using Afm.Runtime.Tests;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// Chat templates and tools through the server, on the micro model served with Qwen2.5-Instruct's real template
/// (its tool-call format is &lt;tool_call&gt;): a random model calls a tool reliably only when the call is forced
/// (tool_choice required or named), so those are what run end to end; the parser of free answers is
/// <see cref="ToolCallParserTests"/>'s.
/// </summary>
public sealed class ServerToolTests(ChatArtifactFixture fixture) : IClassFixture<ChatArtifactFixture>
{
    internal const string Weather = """{"type":"function","function":{"name":"get_weather","description":"The weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city","unit"],"additionalProperties":false}}}""";
    internal const string Time = """{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"},"hours24":{"type":"boolean"}},"required":["zone","hours24"]}}}""";
    private const string Question = "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"}]";

    private static ServerOptions Qwen => new() { ChatTemplate = ChatTemplateFiles.Read("Qwen2.5-Instruct").Template };

    private async Task<JsonElement> Chat(TestServer test, string fields) =>
        await TestServer.Json(await test.Post("/v1/chat/completions", "{" + Question + "," + fields + "}"));

    private static void AssertValidCall(JsonElement call, string tool)
    {
        var function = JsonDocument.Parse(tool).RootElement.GetProperty("function");
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.StartsWith("call_", call.GetProperty("id").GetString());
        Assert.Equal(function.GetProperty("name").GetString(), call.GetProperty("function").GetProperty("name").GetString());
        using var arguments = JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!);
        var schema = Json.Schema.JsonSchema.FromText(function.GetProperty("parameters").GetRawText());
        Assert.True(schema.Evaluate(arguments.RootElement).IsValid, arguments.RootElement.GetRawText());
    }

    [Fact]
    public async Task The_template_renders_the_prompt()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        var body = await Chat(test, "\"max_tokens\":1");
        var (template, _, _) = ChatTemplateFiles.Read("Qwen2.5-Instruct");
        using var reference = ChatTemplate.Load(template, null, null);
        var rendered = reference.Render(ChatPrompt.Read(JsonDocument.Parse("{" + Question + "}").RootElement), tools: null);
        Assert.StartsWith("<|im_start|>system\nYou are Qwen", rendered);
        // The template's text, tokenized without an added beginning-of-sequence token, is the whole prompt.
        Assert.Equal(fixture.Model.Tokenizer.Encode(rendered).Count, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task A_named_function_is_called_with_arguments_its_schema_accepts()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        var body = await Chat(test, "\"tools\":[" + Weather + "," + Time + "]," + """
            "tool_choice":{"type":"function","function":{"name":"get_weather"}},"max_tokens":160,"seed":3
            """);
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty("content").ValueKind);
        AssertValidCall(choice.GetProperty("message").GetProperty("tool_calls").EnumerateArray().Single(), Weather);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public async Task Required_calls_one_of_the_tools_with_valid_arguments(int seed)
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        var body = await Chat(test, $$"""
            "tools":[{{Weather}},{{Time}}],"tool_choice":"required","max_tokens":160,"seed":{{seed}}
            """);
        var call = body.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls").EnumerateArray().Single();
        AssertValidCall(call, call.GetProperty("function").GetProperty("name").GetString() == "get_time" ? Time : Weather);
    }

    [Fact]
    public async Task A_forced_call_streams_as_OpenAI_streams_tool_calls()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        const string fields = $$"""
            "tools":[{{Weather}}],"tool_choice":"required","max_tokens":160,"seed":9
            """;
        var whole = (await Chat(test, fields)).GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0];
        var events = (await (await test.Post("/v1/chat/completions", "{" + Question + "," + fields + ",\"stream\":true}")).Content.ReadAsStringAsync())
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToList();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0]).ToList();
        var deltas = chunks.Where(c => c.GetProperty("delta").TryGetProperty("tool_calls", out _))
            .Select(c => c.GetProperty("delta").GetProperty("tool_calls")[0]).ToList();
        Assert.All(deltas, d => Assert.Equal(0, d.GetProperty("index").GetInt32()));
        Assert.Equal("get_weather", deltas[0].GetProperty("function").GetProperty("name").GetString());
        Assert.StartsWith("call_", deltas[0].GetProperty("id").GetString());
        // Sent as generated, in more than one piece (strings as the model wrote them: the same value, not the same escapes).
        Assert.True(deltas.Count(d => d.GetProperty("function").GetProperty("arguments").GetString()!.Length > 0) > 3);
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(
            System.Text.Json.Nodes.JsonNode.Parse(whole.GetProperty("function").GetProperty("arguments").GetString()!),
            System.Text.Json.Nodes.JsonNode.Parse(string.Concat(deltas.Select(d => d.GetProperty("function").GetProperty("arguments").GetString())))));
        Assert.Equal("tool_calls", chunks[^1].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Tool_choice_none_answers_in_text()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        var message = (await Chat(test, $$"""
            "tools":[{{Weather}}],"tool_choice":"none","max_tokens":4,"temperature":0
            """)).GetProperty("choices")[0].GetProperty("message");
        Assert.False(message.TryGetProperty("tool_calls", out _));
        Assert.Equal(JsonValueKind.String, message.GetProperty("content").ValueKind);
    }

    [Fact]
    public async Task A_tool_result_is_rendered_into_the_next_turn()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        var response = await test.Post("/v1/chat/completions", """
            {"messages":[{"role":"user","content":"Weather in Oslo?"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\",\"unit\":\"celsius\"}"}}]},
             {"role":"tool","tool_call_id":"call_1","content":"3 degrees"}],
             "max_tokens":3,"temperature":0,"tools":[
            """ + Weather + "]}");
        Assert.Equal(200, (int)response.StatusCode);
    }

    [Theory]
    [InlineData("\"tool_choice\":\"required\"", "tool_choice")]
    [InlineData("\"tools\":[" + Weather + "],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}", "tool_choice")]
    [InlineData("\"tools\":[" + Weather + "],\"tool_choice\":\"sometimes\"", "tool_choice")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"has space\"}}]", "tools")]
    [InlineData("\"tools\":[" + Weather + "," + Weather + "]", "tools")]
    [InlineData("\"tools\":{}", "tools")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":1}}}}}],\"tool_choice\":\"required\"", "tools")]
    [InlineData("\"tools\":[" + Weather + "],\"tool_choice\":\"required\",\"response_format\":{\"type\":\"json_object\"}", "tool_choice")]
    public async Task A_malformed_tool_request_is_a_400_naming_the_field(string fields, string param)
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        var response = await test.Post("/v1/chat/completions", "{" + Question + "," + fields + ",\"max_tokens\":2}");
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(param, (await TestServer.Json(response)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_conversation_the_template_refuses_is_a_400_with_its_message()
    {
        // Mistral's template raises when roles do not alternate.
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions { ChatTemplate = ChatTemplateFiles.Read("Mistral-7B-Instruct-v0.3").Template });
        var response = await test.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}],"max_tokens":2}""");
        Assert.Equal(400, (int)response.StatusCode);
        var error = (await TestServer.Json(response)).GetProperty("error");
        Assert.Equal("chat_template_error", error.GetProperty("code").GetString());
        Assert.Contains("alternate", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_template_that_cannot_render_stops_the_server_at_start()
    {
        var e = await Assert.ThrowsAsync<DiagnosticException>(() => TestServer.StartAsync(fixture.Model, new ServerOptions { ChatTemplate = "{% for m in messages %}{{ m.content }" }));
        Assert.Equal(RuntimeCodes.ChatTemplateUnusable, e.Diagnostic.Code);
    }
}
