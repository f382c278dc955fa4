using System.Net;
using System.Text;
using System.Text.Json;
using Afm.Runtime;
using Afm.Runtime.Tests;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// The OpenAI API's output controls as llama-server and vLLM users rely on them: logprobs, logit_bias, penalties, n,
/// arrays of prompts and token ids, echo and stream usage. Expected values are computed in the test from the model's
/// own logits (one forward pass per position, outside the server) and the API's published formulas.
/// </summary>
public sealed class ServerOutputControlsTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private const string Prompt = "Ada has";

    private AfmModel Model => fixture.Model;

    /// <summary>Greedy decoding done by hand: each step's raw logits, and the OpenAI adjustment of the chosen-so-far counts.</summary>
    private (List<int> Ids, List<float[]> Logits) Greedy(IReadOnlyList<int> promptIds, int tokens, Dictionary<int, double>? bias = null, double presence = 0, double frequency = 0)
    {
        var session = Model.Session;
        using var cache = session.NewCache();
        var logits = session.Forward(promptIds.Select(i => (long)i).ToArray(), cache);
        var ids = new List<int>();
        var raw = new List<float[]>();
        for (int step = 0; step < tokens; step++)
        {
            raw.Add(logits);
            var adjusted = (float[])logits.Clone();
            foreach (var (id, b) in bias ?? []) adjusted[id] += (float)b;
            foreach (var id in ids.Distinct()) adjusted[id] -= (float)(ids.Count(x => x == id) * frequency + presence);
            int best = Enumerable.Range(0, adjusted.Length).Where(i => !Model.Generator.Suppression.IsSuppressed(i)).MaxBy(i => adjusted[i]);
            ids.Add(best);
            logits = session.Forward([best], cache);
        }
        return (ids, raw);
    }

    private static double LogSoftmax(float[] logits, int id)
    {
        double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
        return logits[id] - max - Math.Log(sum);
    }

    private static async Task<JsonElement> Ok(TestServer test, string path, string json)
    {
        var response = await test.Post(path, json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static string Ids(IEnumerable<int> ids) => "[" + string.Join(",", ids) + "]";

    [Fact]
    public async Task Chat_logprobs_are_the_models_log_softmax_with_the_likeliest_alternatives_in_order()
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var json = await Ok(test, "/v1/chat/completions",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":3}");
        var content = json.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content");
        Assert.True(content.GetArrayLength() >= 1);
        var promptIds = Model.Generator.Tokenize("User: hi\nAssistant:");
        var (ids, logits) = Greedy(promptIds, content.GetArrayLength());
        for (int i = 0; i < content.GetArrayLength(); i++)
        {
            var token = content[i];
            Assert.Equal(LogSoftmax(logits[i], ids[i]), token.GetProperty("logprob").GetDouble(), 4);
            Assert.Equal(Model.Tokenizer.Decode([ids[i]]), token.GetProperty("token").GetString());
            Assert.Equal(Model.Tokenizer.TokenBytes(ids[i]).Select(b => (int)b), token.GetProperty("bytes").EnumerateArray().Select(b => b.GetInt32()));
            var top = token.GetProperty("top_logprobs").EnumerateArray().Select(t => t.GetProperty("logprob").GetDouble()).ToList();
            Assert.Equal(3, top.Count);
            Assert.Equal(top.OrderByDescending(t => t), top);
            Assert.Equal(token.GetProperty("logprob").GetDouble(), top[0], 6); // greedy chose the likeliest
        }
    }

    [Fact]
    public async Task Logit_bias_and_penalties_change_greedy_choices_by_the_published_formula()
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var promptIds = Model.Generator.Tokenize(Prompt);
        var (plain, _) = Greedy(promptIds, 1);
        // Ban the greedy first token, favour another a little, and penalise repeats.
        var bias = new Dictionary<int, double> { [plain[0]] = -100, [7] = 1.5 };
        var (expected, _) = Greedy(promptIds, 8, bias, presence: 0.7, frequency: 1.3);
        var json = await Ok(test, "/v1/completions",
            $"{{\"prompt\":{Ids(promptIds)},\"max_tokens\":8,\"temperature\":0,\"logprobs\":0,\"logit_bias\":{{\"{plain[0]}\":-100,\"7\":1.5}},\"presence_penalty\":0.7,\"frequency_penalty\":1.3}}");
        var tokens = json.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("tokens").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Equal(expected.Take(tokens.Count).Select(id => Model.Tokenizer.Decode([id])), tokens);
        Assert.NotEqual(Model.Tokenizer.Decode([plain[0]]), tokens[0]);
    }

    [Fact]
    public async Task N_choices_with_a_seed_are_the_single_choices_with_seeds_counting_up()
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var json = await Ok(test, "/v1/completions", "{\"prompt\":\"Ada has\",\"max_tokens\":10,\"temperature\":1.5,\"n\":3,\"seed\":40}");
        var choices = json.GetProperty("choices");
        Assert.Equal([0, 1, 2], choices.EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        for (int j = 0; j < 3; j++)
        {
            var single = await Ok(test, "/v1/completions", $"{{\"prompt\":\"Ada has\",\"max_tokens\":10,\"temperature\":1.5,\"seed\":{40 + j}}}");
            Assert.Equal(single.GetProperty("choices")[0].GetProperty("text").GetString(), choices[j].GetProperty("text").GetString());
        }
        Assert.Equal(Model.Generator.Tokenize("Ada has").Count, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Arrays_of_prompts_and_token_ids_answer_each_prompt_in_order()
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var first = Model.Generator.Tokenize("Ada has");
        var second = Model.Generator.Tokenize("The river");
        var byText = await Ok(test, "/v1/completions", "{\"prompt\":[\"Ada has\",\"The river\"],\"max_tokens\":6,\"temperature\":0,\"n\":2}");
        var byIds = await Ok(test, "/v1/completions", $"{{\"prompt\":[{Ids(first)},{Ids(second)}],\"max_tokens\":6,\"temperature\":0,\"n\":2}}");
        var texts = byText.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()).ToList();
        Assert.Equal(4, texts.Count);
        Assert.Equal(texts, byIds.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()));
        Assert.Equal(texts[0], texts[1]); // greedy: both choices of a prompt agree
        var (expected, _) = Greedy(second, 6);
        Assert.StartsWith(texts[2]!, Model.Tokenizer.Decode(expected));
        Assert.Equal(first.Count + second.Count, byText.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Echo_returns_the_prompt_and_with_logprobs_the_prompts_own_log_likelihood()
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var json = await Ok(test, "/v1/completions", "{\"prompt\":\"Ada has\",\"max_tokens\":3,\"temperature\":0,\"echo\":true,\"logprobs\":1}");
        var choice = json.GetProperty("choices")[0];
        Assert.StartsWith(Prompt, choice.GetProperty("text").GetString());
        var promptIds = Model.Generator.Tokenize(Prompt); // the beginning-of-sequence token, then the text's
        var session = Model.Session;
        using var cache = session.NewCache();
        var rows = session.Forward(promptIds.Select(i => (long)i).ToArray(), cache, null, promptIds.Count);
        var logprobs = choice.GetProperty("logprobs").GetProperty("token_logprobs");
        for (int i = 1; i < promptIds.Count; i++)
            Assert.Equal(LogSoftmax(rows[((i - 1) * session.VocabSize)..(i * session.VocabSize)], promptIds[i]), logprobs[i - 1].GetDouble(), 4);
        var offsets = choice.GetProperty("logprobs").GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()).ToList();
        Assert.Equal(0, offsets[0]);
        Assert.Equal(offsets.Order(), offsets);
    }

    [Fact]
    public async Task A_stream_with_include_usage_ends_with_a_usage_chunk_and_no_choices()
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var response = await test.Post("/v1/chat/completions",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true},\"n\":2}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e["data: ".Length..]).ToList();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));
        var last = chunks[^1];
        Assert.Equal(0, last.GetProperty("choices").GetArrayLength());
        var usage = last.GetProperty("usage");
        Assert.Equal(Model.Generator.Tokenize("User: hi\nAssistant:").Count, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal([0, 1], chunks[..^1].Select(c => c.GetProperty("choices")[0].GetProperty("index").GetInt32()).Distinct().Order());
    }

    [Theory]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"presence_penalty\":2.5", "presence_penalty")]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"frequency_penalty\":-3", "frequency_penalty")]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"logit_bias\":{\"abc\":1}", "logit_bias")]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"logit_bias\":{\"5\":101}", "logit_bias")]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"logit_bias\":[1]", "logit_bias")]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"logprobs\":6", "logprobs")]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"n\":0", "n")]
    [InlineData("/v1/completions", "\"prompt\":[\"a\",\"b\"],\"n\":9", "n")]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"stream_options\":{\"include_usage\":true}", "stream_options")]
    [InlineData("/v1/completions", "\"prompt\":[]", "prompt")]
    [InlineData("/v1/completions", "\"prompt\":[[]]", "prompt")]
    [InlineData("/v1/completions", "\"prompt\":[\"a\",1]", "prompt")]
    [InlineData("/v1/completions", "\"prompt\":[1,-2]", "prompt")]
    [InlineData("/v1/completions", "\"prompt\":[1,99999999]", "prompt")]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"echo\":\"yes\"", "echo")]
    [InlineData("/v1/chat/completions", "\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"top_logprobs\":2", "top_logprobs")]
    [InlineData("/v1/chat/completions", "\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"logprobs\":true,\"top_logprobs\":21", "top_logprobs")]
    public async Task Out_of_range_values_are_400s_naming_the_field(string path, string fields, string param)
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var response = await test.Post(path, "{" + fields + "}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await TestServer.Json(response)).GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("/v1/completions", "\"prompt\":\"a\",\"presence_penalty\":2,\"frequency_penalty\":-2,\"logit_bias\":{\"5\":-100,\"6\":100},\"logprobs\":5,\"echo\":true")]
    [InlineData("/v1/completions", "\"prompt\":[\"a\",\"b\"],\"n\":8")]
    [InlineData("/v1/chat/completions", "\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"logprobs\":true,\"top_logprobs\":20,\"n\":16")]
    [InlineData("/v1/chat/completions", "\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"stream\":true,\"stream_options\":{\"include_usage\":false}")]
    public async Task The_edges_of_each_new_range_are_accepted(string path, string fields)
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var response = await test.Post(path, "{" + fields + ",\"max_tokens\":2}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_logit_bias_on_an_id_beyond_the_vocabulary_is_a_400()
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var response = await test.Post("/v1/completions", $"{{\"prompt\":\"a\",\"logit_bias\":{{\"{Model.Session.VocabSize}\":1}}}}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("logit bias", (await response.Content.ReadAsStringAsync()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(9)]
    [InlineData(40)]
    public async Task A_json_object_response_always_parses_as_one_object(int maxTokens)
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        // A random micro model at temperature 1.5: left alone it never writes JSON; constrained, every choice is an object.
        var json = await Ok(test, "/v1/chat/completions",
            $"{{\"messages\":[{{\"role\":\"user\",\"content\":\"json please\"}}],\"max_tokens\":{maxTokens},\"temperature\":1.5,\"seed\":3,\"n\":8,\"response_format\":{{\"type\":\"json_object\"}}}}");
        foreach (var choice in json.GetProperty("choices").EnumerateArray())
        {
            var content = choice.GetProperty("message").GetProperty("content").GetString()!;
            using var parsed = JsonDocument.Parse(content);
            Assert.Equal(JsonValueKind.Object, parsed.RootElement.ValueKind);
        }
    }

    private const string PersonSchema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"},"
        + "\"mood\":{\"enum\":[\"happy\",\"sad\"]},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},\"required\":[\"name\",\"age\",\"mood\",\"tags\"],\"additionalProperties\":false}";

    // The schema's shortest instance has 42 characters: the budget must be able to hold it (a token may hold several).
    [Theory]
    [InlineData(42)]
    [InlineData(80)]
    public async Task A_json_schema_response_always_validates_against_the_schema(int maxTokens)
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var json = await Ok(test, "/v1/chat/completions",
            $"{{\"messages\":[{{\"role\":\"user\",\"content\":\"a person\"}}],\"max_tokens\":{maxTokens},\"temperature\":1.5,\"seed\":5,\"n\":8,"
            + $"\"response_format\":{{\"type\":\"json_schema\",\"json_schema\":{{\"name\":\"person\",\"strict\":true,\"schema\":{PersonSchema}}}}}}}");
        var validator = Json.Schema.JsonSchema.FromText(PersonSchema);
        foreach (var choice in json.GetProperty("choices").EnumerateArray())
        {
            using var parsed = JsonDocument.Parse(choice.GetProperty("message").GetProperty("content").GetString()!);
            Assert.True(validator.Evaluate(parsed.RootElement).IsValid, parsed.RootElement.GetRawText());
        }
    }

    [Fact]
    public async Task A_schema_keyword_that_cannot_be_enforced_is_a_400_naming_it()
    {
        await using var test = await TestServer.StartAsync(Model, new ServerOptions());
        var response = await test.Post("/v1/chat/completions",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"string\",\"pattern\":\"^a$\"}}}}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await TestServer.Json(response)).GetProperty("error");
        Assert.Equal("unsupported_schema", error.GetProperty("code").GetString());
        Assert.Contains("pattern", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
