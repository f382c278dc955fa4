using System.ComponentModel;
using System.ClientModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Runtime.Tests;
using Afm.Serving;
using Microsoft.Extensions.AI;
using OpenAI;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;

namespace Afm.Serving.Tests;

/// <summary>
/// The official <c>openai</c> npm package (pinned, tests/peers/openai/client.mjs) and Microsoft.Extensions.AI's
/// function-invoking chat client, against the micro model served with Qwen2.5-Instruct's real chat template: chat,
/// streaming and tool calling round trips as those clients do them. A random model calls a tool reliably only when
/// the call is forced, so the calls here are (tool_choice required / a named function).
/// </summary>
public sealed class OpenAINpmClientTests(ChatArtifactFixture fixture) : IClassFixture<ChatArtifactFixture>
{
    private static ServerOptions Qwen => new() { ChatTemplate = ChatTemplateFiles.Read("Qwen2.5-Instruct").Template };

    private static JsonNode Ask(TestServer test, string op, JsonObject body, string? result = null) =>
        NodePeer.OpenAI.Ask("client.mjs", new JsonObject
        {
            ["op"] = op, ["baseURL"] = new Uri(test.Address, "/v1").ToString(), ["body"] = body, ["result"] = result,
        });

    private JsonObject Body(string content, int maxTokens, bool tools = false)
    {
        var body = new JsonObject
        {
            ["model"] = fixture.Model.Id, ["max_tokens"] = maxTokens, ["seed"] = 4, ["temperature"] = 0,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
        };
        if (tools)
        {
            body["tools"] = new JsonArray(JsonNode.Parse(ServerToolTests.Weather));
            body["tool_choice"] = "required";
        }
        return body;
    }

    private static void AssertWeatherCall(JsonNode call)
    {
        Assert.StartsWith("call_", (string)call["id"]!);
        Assert.Equal("get_weather", (string)call["function"]!["name"]!);
        var schema = Json.Schema.JsonSchema.FromText(JsonNode.Parse(ServerToolTests.Weather)!["function"]!["parameters"]!.ToJsonString());
        using var arguments = JsonDocument.Parse((string)call["function"]!["arguments"]!);
        Assert.True(schema.Evaluate(arguments.RootElement).IsValid, arguments.RootElement.GetRawText());
    }

    [Fact]
    public async Task The_npm_client_chats_and_streams_the_same_text()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        var chat = Ask(test, "chat", Body("Name a colour.", 6));
        Assert.Null(chat["error"]);
        Assert.Equal("assistant", (string)chat["message"]!["role"]!);
        Assert.True((int)chat["usage"]!["prompt_tokens"]! > 0);
        var stream = Ask(test, "stream", Body("Name a colour.", 6));
        Assert.Equal((string)chat["message"]!["content"]!, (string)stream["content"]!);
        Assert.Equal((string)chat["finish_reason"]!, (string)stream["finish_reason"]!);
    }

    [Fact]
    public async Task The_npm_client_round_trips_a_tool_call()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        const string result = "{\"temperature\": 3, \"sky\": \"clear\"}";
        var answer = Ask(test, "tool_round_trip", Body("Weather in Oslo?", 160, tools: true), result);
        Assert.Null(answer["error"]);
        Assert.Equal("tool_calls", (string)answer["finish_reason"]!);
        AssertWeatherCall(answer["call"]!);
        var next = answer["next"]!;
        Assert.Null(next["message"]!["tool_calls"]);
        Assert.Equal(JsonValueKind.String, next["message"]!["content"]!.GetValueKind());
        // The next turn's prompt holds the call and its result, as the template renders them.
        Assert.True((int)next["usage"]!["prompt_tokens"]! > fixture.Model.Tokenizer.Encode(result).Count);
    }

    [Fact]
    public async Task The_npm_client_puts_a_streamed_call_together()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        var stream = Ask(test, "stream", Body("Weather in Oslo?", 160, tools: true));
        Assert.Null(stream["error"]);
        Assert.Equal("tool_calls", (string)stream["finish_reason"]!);
        AssertWeatherCall(Assert.Single(stream["tool_calls"]!.AsArray())!);
        // Incremental: the arguments came in pieces as they were generated, not as one delta at the end.
        Assert.True((int)stream["argument_deltas"]! > 3, stream.ToJsonString());
        // The same call as the answer that is not streamed (greedy): same name, same arguments once parsed.
        var whole = Ask(test, "chat", Body("Weather in Oslo?", 160, tools: true));
        var wholeCall = whole["message"]!["tool_calls"]![0]!["function"]!;
        var streamedCall = stream["tool_calls"]![0]!["function"]!;
        Assert.Equal((string)wholeCall["name"]!, (string)streamedCall["name"]!);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse((string)wholeCall["arguments"]!), JsonNode.Parse((string)streamedCall["arguments"]!)));
    }

    [Description("The weather of a city")]
    private static string GetWeather(string city, string unit) => $"{{\"city\": \"{city}\", \"temperature\": 3, \"unit\": \"{unit}\"}}";

    [Fact]
    public async Task Microsoft_Extensions_AI_invokes_the_function_the_model_calls_and_answers_after_it()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, Qwen);
        var calls = new List<(string City, string Unit)>();
        var weather = AIFunctionFactory.Create((string city, string unit) => { calls.Add((city, unit)); return GetWeather(city, unit); }, "get_weather", "The weather of a city");
        using var client = new ChatClientBuilder(new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(test.Address, "/v1") })
                .GetChatClient(fixture.Model.Id).AsIChatClient())
            .UseFunctionInvocation()
            .Build();
        var options = new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.RequireSpecific("get_weather"), MaxOutputTokens = 160, Temperature = 0, Seed = 4 };
        var response = await client.GetResponseAsync([new AIChatMessage(AIChatRole.User, "Weather in Oslo?")], options);

        Assert.NotEmpty(calls);
        Assert.Contains(response.Messages.SelectMany(m => m.Contents), c => c is FunctionCallContent { Name: "get_weather" });
        Assert.Contains(response.Messages.SelectMany(m => m.Contents), c => c is FunctionResultContent);
        Assert.Equal(AIChatRole.Assistant, response.Messages[^1].Role);
    }
}
