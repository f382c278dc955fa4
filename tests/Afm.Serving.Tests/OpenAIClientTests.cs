using System.ClientModel;
using Afm.Runtime.Tests;
using Afm.Serving;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;

namespace Afm.Serving.Tests;

/// <summary>
/// The official OpenAI .NET library, directly and under Microsoft.Extensions.AI, pointed at a real server on 127.0.0.1:
/// what it sends is accepted and what the server answers parses into the library's own types.
/// </summary>
public sealed class OpenAIClientTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private ChatClient Client(TestServer test) =>
        new(fixture.Model.Id, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(test.Address, "/v1") });

    [Fact]
    public async Task Logprobs_parse_into_the_librarys_token_log_probabilities()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 4, IncludeLogProbabilities = true, TopLogProbabilityCount = 2, PresencePenalty = 0.5f, FrequencyPenalty = 0.5f };
        ChatCompletion completion = await Client(test).CompleteChatAsync([new UserChatMessage("hi")], options);
        Assert.NotEmpty(completion.ContentTokenLogProbabilities);
        Assert.All(completion.ContentTokenLogProbabilities, token =>
        {
            Assert.True(token.LogProbability <= 0);
            Assert.Equal(2, token.TopLogProbabilities.Count);
            Assert.Equal(token.TopLogProbabilities[0].LogProbability, token.LogProbability, 5);
        });
    }

    [Fact]
    public async Task Microsoft_Extensions_AI_chats_and_streams_with_penalties_and_usage()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        IChatClient chat = Client(test).AsIChatClient();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 6, PresencePenalty = 1, FrequencyPenalty = 1, Seed = 7 };
        var response = await chat.GetResponseAsync([new AIChatMessage(AIChatRole.User, "hi")], options);
        Assert.False(string.IsNullOrEmpty(response.Text));
        Assert.True(response.Usage?.OutputTokenCount > 0);

        var streamed = new List<string>();
        UsageDetails? usage = null;
        await foreach (var update in chat.GetStreamingResponseAsync([new AIChatMessage(AIChatRole.User, "hi")], options))
        {
            streamed.Add(update.Text);
            usage ??= update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
        }
        Assert.Equal(response.Text, string.Concat(streamed));
        Assert.Equal(response.Usage!.OutputTokenCount, usage?.OutputTokenCount); // the library asks for include_usage when streaming
    }
}
