using System.Net;
using System.Text.Json;
using Afm.Runtime.Tests;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// llama-server's per-request LoRA scale, <c>"lora": [{"id", "scale"}]</c>, on the test artifact's adapter: scale 1 is
/// the adapter as selected by <c>model</c>, 0 the base model, another scale a third model; bad values are 400s.
/// </summary>
public sealed class ServerLoraScaleTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private static string Body(string extra) => $$"""{"prompt":"Ada has","max_tokens":6,"temperature":0,"logprobs":0{{extra}}}""";

    private static async Task<(string Text, double[] Logprobs)> Complete(TestServer test, string extra)
    {
        var response = await test.Post("/v1/completions", Body(extra));
        var json = await TestServer.Json(response);
        Assert.True(response.IsSuccessStatusCode, json.ToString());
        var choice = json.GetProperty("choices")[0];
        return (choice.GetProperty("text").GetString()!, [.. choice.GetProperty("logprobs").GetProperty("token_logprobs").EnumerateArray().Select(l => l.GetDouble())]);
    }

    [Fact]
    public async Task Scale_1_is_the_adapter_scale_0_the_base_and_another_scale_neither()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var adapted = await Complete(test, $",\"model\":\"{fixture.Model.Id}:{TestArtifact.Adapter}\"");
        var plain = await Complete(test, "");
        var one = await Complete(test, ",\"lora\":[{\"id\":0,\"scale\":1}]");
        var zero = await Complete(test, ",\"lora\":[{\"id\":0,\"scale\":0}]");
        var half = await Complete(test, ",\"lora\":[{\"id\":0,\"scale\":0.5}]");
        var halfAgain = await Complete(test, ",\"lora\":[{\"id\":0,\"scale\":0.5}]");

        static void Same((string Text, double[] Logprobs) a, (string Text, double[] Logprobs) b)
        {
            Assert.Equal(a.Text, b.Text);
            Assert.Equal(a.Logprobs, b.Logprobs);
        }
        Same(adapted, one);
        Same(plain, zero);
        Assert.NotEqual(adapted.Logprobs[0], plain.Logprobs[0], 4); // the adapter changes this model's output at all
        Assert.NotEqual(half.Logprobs[0], adapted.Logprobs[0], 4);
        Assert.NotEqual(half.Logprobs[0], plain.Logprobs[0], 4);
        Same(half, halfAgain); // the same scaled copy, kept
    }

    [Fact]
    public async Task Concurrent_requests_of_new_and_kept_scales_each_get_their_own_copy()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        double[] scales = [0.5, -0.75, 1.5, 0.125, 0.5, -0.75, 1.5, 0.125, 0.5, -0.75, 1.5, 0.125];
        // Alone, one after another: what each scale answers.
        var alone = new Dictionary<double, (string Text, double[] Logprobs)>();
        foreach (var scale in scales.Distinct()) alone[scale] = await Complete(test, $",\"lora\":[{{\"id\":0,\"scale\":{scale.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}]");
        // Twelve at once (copies built while others run), several of the same scale: each answers as it did alone.
        var together = await Task.WhenAll(scales.Select(scale =>
            Complete(test, $",\"lora\":[{{\"id\":0,\"scale\":{scale.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}]")));
        foreach (var (scale, answer) in scales.Zip(together))
        {
            Assert.Equal(alone[scale].Text, answer.Text);
            Assert.Equal(alone[scale].Logprobs, answer.Logprobs, (a, b) => Math.Abs(a - b) < 1e-4); // a batched run may differ in the last bits
        }
    }

    [Fact]
    public async Task The_adapters_are_listed_with_their_ids()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var list = await TestServer.Json(await test.Client.GetAsync("/lora-adapters"));
        Assert.Equal(0, list[0].GetProperty("id").GetInt32());
        Assert.Equal(TestArtifact.Adapter, list[0].GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("{\"id\":0,\"scale\":5}")]
    [InlineData("{\"id\":0,\"scale\":-4.5}")]
    [InlineData("{\"id\":0,\"scale\":\"1\"}")]
    [InlineData("{\"id\":1,\"scale\":1}")]
    [InlineData("{\"id\":-1,\"scale\":1}")]
    [InlineData("{\"id\":0.5,\"scale\":1}")]
    [InlineData("{\"scale\":1}")]
    [InlineData("{\"id\":0,\"scale\":1},{\"id\":0,\"scale\":0}")]
    [InlineData("7")]
    public async Task A_bad_lora_entry_is_a_400_naming_the_field(string entries)
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var response = await test.Post("/v1/completions", Body($",\"lora\":[{entries}]"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("lora", (await TestServer.Json(response)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Lora_and_an_adapter_in_model_together_are_a_400()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var response = await test.Post("/v1/completions", Body($",\"model\":\"{fixture.Model.Id}:{TestArtifact.Adapter}\",\"lora\":[{{\"id\":0,\"scale\":0.5}}]"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
