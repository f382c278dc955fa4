using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Runtime.Tests;
using Microsoft.Extensions.AI;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;

namespace Afm.Serving.Tests;

/// <summary>
/// Issue #19's acceptance, feature by feature, through the two real clients (the official <c>openai</c> npm package,
/// tests/peers/openai/client.mjs, and Microsoft.Extensions.AI.OpenAI), streamed and not: output controls, structured
/// output, the prompt cache, and the operations a client sees (API key, models.retrieve, created, system_fingerprint,
/// the lora field). Chat templates and tools have their own client tests (OpenAINpmClientTests, AutoToolCallStreamTests).
/// </summary>
public sealed class ClientFeatureTests(ChatArtifactFixture fixture) : IClassFixture<ChatArtifactFixture>
{
    private const string Schema = """{"type":"object","properties":{"name":{"type":"string"},"dark":{"type":"boolean"}},"required":["name","dark"],"additionalProperties":false}""";

    private static JsonNode Ask(TestServer test, string op, JsonObject request) => test.AskNpmClient(op, request);

    private JsonObject Chat(string content, int maxTokens) => new()
    {
        ["model"] = fixture.Model.Id, ["max_tokens"] = maxTokens,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
    };

    /// <summary>The text of each choice index, put together from stream chunks.</summary>
    private static Dictionary<int, string> Texts(JsonArray chunks, Func<JsonNode, string?> piece)
    {
        var texts = new Dictionary<int, string>();
        foreach (var choice in chunks.SelectMany(c => c!["choices"]!.AsArray()))
        {
            var index = (int)choice!["index"]!;
            texts[index] = texts.GetValueOrDefault(index, "") + piece(choice);
        }
        return texts;
    }

    [Fact]
    public async Task The_npm_client_gets_n_logprobs_penalties_usage_created_and_fingerprint_streamed_and_not()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var body = Chat("Name a colour.", 5);
        body["n"] = 2; body["temperature"] = 1; body["seed"] = 11; body["logprobs"] = true; body["top_logprobs"] = 2;
        body["presence_penalty"] = 0.5; body["frequency_penalty"] = 0.5;
        var whole = Ask(test, "raw_chat", new JsonObject { ["body"] = body.DeepClone() })["response"]!;
        var choices = whole["choices"]!.AsArray();
        Assert.Equal(2, choices.Count);
        Assert.All(choices, c => Assert.All(Assert.IsType<JsonArray>(c!["logprobs"]!["content"], exactMatch: false).Where(_ => true).ToList() is { Count: > 0 } tokens ? tokens
            : throw new Xunit.Sdk.XunitException("no log-probabilities"), t => Assert.Equal(2, t!["top_logprobs"]!.AsArray().Count)));
        Assert.InRange((long)whole["created"]!, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
        Assert.StartsWith("fp_", (string)whole["system_fingerprint"]!);

        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        var chunks = Ask(test, "raw_chat_stream", new JsonObject { ["body"] = body })["chunks"]!.AsArray();
        var texts = Texts(chunks, c => (string?)c["delta"]?["content"]);
        Assert.Equal((string)choices[0]!["message"]!["content"]!, texts[0]);
        Assert.Equal((string)choices[1]!["message"]!["content"]!, texts[1]);
        Assert.Equal((int)whole["usage"]!["completion_tokens"]!, (int)chunks[^1]!["usage"]!["completion_tokens"]!);
        Assert.StartsWith("fp_", (string)chunks[0]!["system_fingerprint"]!);
    }

    [Fact]
    public async Task The_npm_client_sends_token_arrays_and_prompt_lists_with_echo_logprobs_and_logit_bias_streamed_and_not()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var tokenizer = fixture.Model.Tokenizer;
        var prompts = new JsonArray(new JsonArray([.. tokenizer.Encode("Ada has").Select(i => JsonValue.Create(i))]), new JsonArray([.. tokenizer.Encode("Bo reads").Select(i => JsonValue.Create(i))]));
        var body = new JsonObject { ["model"] = fixture.Model.Id, ["prompt"] = prompts, ["max_tokens"] = 3, ["temperature"] = 0, ["logprobs"] = 2, ["echo"] = true };
        var whole = Ask(test, "raw_completion", new JsonObject { ["body"] = body.DeepClone() })["response"]!["choices"]!.AsArray();
        Assert.Equal(2, whole.Count);
        Assert.StartsWith("Ada has", (string)whole[0]!["text"]!);
        Assert.StartsWith("Bo reads", (string)whole[1]!["text"]!);
        Assert.Equal(tokenizer.Encode("Ada has").Count + 3, whole[0]!["logprobs"]!["tokens"]!.AsArray().Count);

        var biased = tokenizer.Encode("red")[0];
        var bias = new JsonObject { ["model"] = fixture.Model.Id, ["prompt"] = new JsonArray("Ada has", "Bo reads"), ["max_tokens"] = 3, ["temperature"] = 0,
            ["logit_bias"] = new JsonObject { [biased.ToString()] = 100 } };
        var forced = Ask(test, "raw_completion", new JsonObject { ["body"] = bias.DeepClone() })["response"]!["choices"]!.AsArray();
        Assert.All(forced, c => Assert.Equal(tokenizer.Decode([biased, biased, biased]), (string)c!["text"]!));
        var streamed = Texts(Ask(test, "raw_completion_stream", new JsonObject { ["body"] = bias })["chunks"]!.AsArray(), c => (string?)c["text"]);
        Assert.Equal([(string)forced[0]!["text"]!, (string)forced[1]!["text"]!], [streamed[0], streamed[1]]);
    }

    [Fact]
    public async Task The_npm_client_gets_json_that_follows_its_schema_streamed_and_not()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var body = Chat("Describe a colour.", 60);
        body["temperature"] = 1; body["seed"] = 5;
        body["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "colour", ["strict"] = true, ["schema"] = JsonNode.Parse(Schema) } };
        var whole = (string)Ask(test, "raw_chat", new JsonObject { ["body"] = body.DeepClone() })["response"]!["choices"]![0]!["message"]!["content"]!;
        var streamed = Texts(Ask(test, "raw_chat_stream", new JsonObject { ["body"] = body })["chunks"]!.AsArray(), c => (string?)c["delta"]?["content"])[0];
        foreach (var text in new[] { whole, streamed }) AssertFollowsSchema(text);
        Assert.Equal(whole, streamed);
    }

    private static void AssertFollowsSchema(string text)
    {
        var value = JsonDocument.Parse(text).RootElement;
        Assert.True(Json.Schema.JsonSchema.FromText(Schema).Evaluate(value).IsValid, text);
    }

    [Fact]
    public async Task The_npm_client_meets_the_api_key_retrieves_the_model_and_sends_a_lora_scale()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions { ApiKey = "right-key" });
        var refused = Ask(test, "retrieve", new JsonObject { ["id"] = fixture.Model.Id, ["apiKey"] = "wrong-key" });
        Assert.Equal(401, (int)refused["status"]!);
        var model = Ask(test, "retrieve", new JsonObject { ["id"] = fixture.Model.Id, ["apiKey"] = "right-key" })["model"]!;
        Assert.Equal(fixture.Model.Id, (string)model["id"]!);
        Assert.Equal("model", (string)model["object"]!);

        var body = Chat("Name a colour.", 4);
        body["temperature"] = 0;
        var plain = Ask(test, "raw_chat", new JsonObject { ["body"] = body.DeepClone(), ["apiKey"] = "right-key" })["response"]!;
        body["lora"] = new JsonArray(new JsonObject { ["id"] = 0, ["scale"] = 0 });
        var zero = Ask(test, "raw_chat", new JsonObject { ["body"] = body.DeepClone(), ["apiKey"] = "right-key" })["response"]!;
        Assert.Equal((string)plain["choices"]![0]!["message"]!["content"]!, (string)zero["choices"]![0]!["message"]!["content"]!); // scale 0: the base
        body["lora"] = new JsonArray(new JsonObject { ["id"] = 0, ["scale"] = 9 });
        Assert.Equal(400, (int)Ask(test, "raw_chat", new JsonObject { ["body"] = body, ["apiKey"] = "right-key" })["status"]!);
    }

    [Fact]
    public async Task The_npm_clients_conversation_reuses_the_prompt_cache()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var body = Chat("You answer briefly.", 4);
        body["messages"]![0]!["role"] = "system";
        body["temperature"] = 0;
        var answers = Ask(test, "conversation", new JsonObject { ["body"] = body, ["turns"] = new JsonArray("Name a colour.", "And another?", "Thanks.") })["answers"]!.AsArray();
        Assert.Equal(3, answers.Count);
        var metrics = await test.Client.GetStringAsync("/metrics");
        Assert.True(PromptCacheServerTests.Metric(metrics, "afm_prompt_cache_hits_total") >= 2, metrics); // turns 2 and 3 start like the turn before
    }

    private IChatClient Client(TestServer test) => test.ChatClient(fixture.Model.Id);

    [Fact]
    public async Task Microsoft_Extensions_AI_gets_json_that_follows_its_schema_streamed_and_not()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        using var client = Client(test);
        var options = new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(Schema).RootElement, "colour"), MaxOutputTokens = 60, Temperature = 1, Seed = 5 };
        var whole = await client.GetResponseAsync([new AIChatMessage(AIChatRole.User, "Describe a colour.")], options);
        var streamed = new System.Text.StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync([new AIChatMessage(AIChatRole.User, "Describe a colour.")], options)) streamed.Append(update.Text);
        AssertFollowsSchema(whole.Text);
        Assert.Equal(whole.Text, streamed.ToString());
    }

    [Fact]
    public async Task Microsoft_Extensions_AI_conversation_reuses_the_prompt_cache_and_sees_created_and_fingerprint()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        using var client = Client(test);
        var options = new ChatOptions { MaxOutputTokens = 4, Temperature = 0 };
        List<AIChatMessage> conversation = [new(AIChatRole.System, "You answer briefly.")];
        foreach (var (turn, stream) in new[] { ("Name a colour.", false), ("And another?", true), ("Thanks.", false) })
        {
            conversation.Add(new AIChatMessage(AIChatRole.User, turn));
            if (stream)
            {
                var updates = new List<ChatResponseUpdate>();
                await foreach (var update in client.GetStreamingResponseAsync(conversation, options)) updates.Add(update);
                conversation.AddRange(updates.ToChatResponse().Messages);
            }
            else
            {
                var response = await client.GetResponseAsync(conversation, options);
                Assert.NotNull(response.CreatedAt);
                Assert.StartsWith("fp_", Assert.IsType<OpenAI.Chat.ChatCompletion>(response.RawRepresentation).SystemFingerprint);
                conversation.AddRange(response.Messages);
            }
        }
        var metrics = await test.Client.GetStringAsync("/metrics");
        Assert.True(PromptCacheServerTests.Metric(metrics, "afm_prompt_cache_hits_total") >= 2, metrics);
    }
}
