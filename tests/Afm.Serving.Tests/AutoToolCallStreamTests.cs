using System.Text.Json.Nodes;
using Afm.Runtime.Tests;
using Microsoft.Extensions.AI;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;

namespace Afm.Serving.Tests;

/// <summary>
/// tool_choice auto, streamed, with a model that really calls a tool (<see cref="ToolCallingModel"/>: a Hermes call of
/// get_weather token by token after the prompt, a sentence after a tool's result): the official <c>openai</c> npm
/// client and Microsoft.Extensions.AI's streaming client put the call together from deltas that came as the tokens did.
/// </summary>
public sealed class AutoToolCallStreamTests(ToolCallingArtifactFixture fixture) : IClassFixture<ToolCallingArtifactFixture>
{
    // The model's own little template: the conversation, then the token that starts its call, or its sentence after a result.
    private const string Template = "{% for m in messages %}{% if m.role == 'tool' %}[result]{{ m.content }}{% elif m.content %}{{ m.content }}{% endif %}{% endfor %}"
        + "{% if messages[-1].role == 'tool' %}" + ToolCallingModel.Say + "{% else %}" + ToolCallingModel.Go + "{% endif %}";

    private static ServerOptions Options => new() { ChatTemplate = Template };

    private static JsonNode Ask(TestServer test, string op, JsonObject body, string? result = null) =>
        test.AskNpmClient(op, new JsonObject { ["body"] = body, ["result"] = result });

    private JsonObject Body(params JsonNode[] messages) => new()
    {
        ["model"] = fixture.Model.Id, ["max_tokens"] = 40, ["temperature"] = 0, ["messages"] = new JsonArray(messages),
        ["tools"] = new JsonArray(JsonNode.Parse(ServerToolTests.Weather)), ["tool_choice"] = "auto",
    };

    private static JsonObject User(string content) => new() { ["role"] = "user", ["content"] = content };

    [Fact]
    public async Task The_npm_client_puts_together_an_auto_call_streamed_as_it_is_generated()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Options);
        var stream = Ask(test, "stream", Body(User("Weather in Oslo?")));
        Assert.Null(stream["error"]);
        Assert.Equal("tool_calls", (string)stream["finish_reason"]!);
        Assert.Equal("", (string)stream["content"]!);
        var call = Assert.Single(stream["tool_calls"]!.AsArray())!;
        Assert.StartsWith("call_", (string)call["id"]!);
        Assert.Equal("get_weather", (string)call["function"]!["name"]!);
        Assert.Equal(ToolCallingModel.Arguments, (string)call["function"]!["arguments"]!);
        // One delta per generated piece of the arguments, not one at the end.
        Assert.Equal(4, (int)stream["argument_deltas"]!);

        var whole = Ask(test, "chat", Body(User("Weather in Oslo?")));
        Assert.Equal("tool_calls", (string)whole["finish_reason"]!);
        var wholeCall = Assert.Single(whole["message"]!["tool_calls"]!.AsArray())!["function"]!;
        Assert.Equal("get_weather", (string)wholeCall["name"]!);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse((string)wholeCall["arguments"]!), JsonNode.Parse(ToolCallingModel.Arguments)));
    }

    [Fact]
    public async Task The_npm_client_round_trips_a_call_the_model_chose_to_make()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Options);
        var answer = Ask(test, "tool_round_trip", Body(User("Weather in Oslo?")), "{\"temperature\": 3}");
        Assert.Null(answer["error"]);
        Assert.Equal("tool_calls", (string)answer["finish_reason"]!);
        Assert.Equal(ToolCallingModel.Arguments, (string)answer["call"]!["function"]!["arguments"]!);
        Assert.Equal(string.Concat(ToolCallingModel.Answer), (string)answer["next"]!["message"]!["content"]!);
        Assert.Equal("stop", (string)answer["next"]!["finish_reason"]!);
    }

    [Fact]
    public async Task Text_after_a_tool_result_streams_as_content_in_pieces()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Options);
        var call = new JsonObject { ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = ToolCallingModel.Arguments } };
        var stream = Ask(test, "stream", Body(User("Weather in Oslo?"),
            new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call) },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = "3 degrees" }));
        Assert.Null(stream["error"]);
        Assert.Equal(string.Concat(ToolCallingModel.Answer), (string)stream["content"]!);
        Assert.Empty(stream["tool_calls"]!.AsArray());
        Assert.Equal("stop", (string)stream["finish_reason"]!);
        Assert.True((int)stream["chunks"]! >= 4, stream.ToJsonString()); // role, two pieces of text, finish
    }

    [Fact]
    public async Task Microsoft_Extensions_AI_streams_the_call_invokes_the_function_and_streams_the_answer()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Options);
        var calls = new List<(string City, string Unit)>();
        var weather = AIFunctionFactory.Create((string city, string unit) => { calls.Add((city, unit)); return "3 degrees"; }, "get_weather", "The weather of a city");
        using var inner = test.ChatClient(fixture.Model.Id);
        var options = new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.Auto, MaxOutputTokens = 40, Temperature = 0 };

        // The streamed call alone, as the client assembles it from its deltas.
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in inner.GetStreamingResponseAsync([new AIChatMessage(AIChatRole.User, "Weather in Oslo?")], options))
            updates.Add(update);
        var function = Assert.Single(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", function.Name);
        Assert.Equal("Oslo", function.Arguments!["city"]!.ToString());
        Assert.Equal("celsius", function.Arguments!["unit"]!.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, updates.Last(u => u.FinishReason is not null).FinishReason);

        // The whole loop, streamed: the call, the function run by the client, its result sent back, the answer after it.
        using var client = new ChatClientBuilder(inner).UseFunctionInvocation().Build();
        var text = new System.Text.StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync([new AIChatMessage(AIChatRole.User, "Weather in Oslo?")], options))
            text.Append(update.Text);
        Assert.Equal([("Oslo", "celsius")], calls);
        Assert.Equal(string.Concat(ToolCallingModel.Answer), text.ToString());
    }
}
