using Afm.Runtime.Tests;
using System.Net;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>As in the OpenAI API: sampling without a seed differs from request to request; with a seed it repeats.</summary>
public sealed class ServerSamplingTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private static async Task<string[]> Complete(TestServer test, string extra, int count)
    {
        var texts = new string[count];
        for (int i = 0; i < count; i++)
        {
            var response = await test.Post("/v1/completions", "{\"prompt\":\"Ada has\",\"max_tokens\":12,\"temperature\":1.5" + extra + "}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            texts[i] = (await TestServer.Json(response)).GetProperty("choices")[0].GetProperty("text").GetString()!;
        }
        return texts;
    }

    [Fact]
    public async Task Without_a_seed_repeated_requests_sample_different_texts()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        // 12 tokens at temperature 1.5 from a random micro model: six equal samples would be a fixed seed, not chance.
        Assert.True((await Complete(test, "", 6)).Distinct().Count() > 1);
    }

    [Fact]
    public async Task With_a_seed_repeated_requests_sample_the_same_text()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        Assert.Single((await Complete(test, ",\"seed\":42", 4)).Distinct());
        Assert.NotEqual((await Complete(test, ",\"seed\":42", 1))[0], (await Complete(test, ",\"seed\":43", 1))[0]);
    }
}
