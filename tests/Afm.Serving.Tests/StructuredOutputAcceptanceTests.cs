using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Runtime.Tests;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// Issue #19's acceptance for structured output: 200 random JSON schemas (<see cref="RandomJsonSchema"/>, seeded) sent
/// over HTTP as <c>response_format: json_schema</c> to a random model sampling at temperature 1; every response is
/// parsed and validated against its schema by Ajv (tests/peers/json-schema, pinned, installed by <c>npm ci</c>), a
/// validator that shares nothing with the server's automaton.
/// </summary>
public sealed class StructuredOutputAcceptanceTests(ChatArtifactFixture fixture) : IClassFixture<ChatArtifactFixture>
{
    [Fact]
    public async Task Two_hundred_random_schemas_each_answered_with_json_that_validates()
    {
        await using var test = await TestServer.StartAsync(fixture.Model, new ServerOptions());
        var random = new Random(19);
        var schemas = Enumerable.Range(0, 200).Select(_ => RandomJsonSchema.Generate(random)).ToList();
        var contents = new string[schemas.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, schemas.Count), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var body = new JsonObject
            {
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Fill in the form." }),
                ["max_tokens"] = 600, ["temperature"] = 1.0, ["seed"] = i,
                ["response_format"] = new JsonObject
                {
                    ["type"] = "json_schema",
                    ["json_schema"] = new JsonObject { ["name"] = $"form{i}", ["strict"] = true, ["schema"] = schemas[i].DeepClone() },
                },
            };
            var response = await test.Post("/v1/chat/completions", body.ToJsonString());
            var json = await TestServer.Json(response);
            Assert.True(response.IsSuccessStatusCode, $"schema {i}: {json}\n{schemas[i]}");
            var choice = json.GetProperty("choices")[0];
            contents[i] = choice.GetProperty("message").GetProperty("content").GetString()!;
            // "length" too: near max_tokens the constraint closes the value, which may end exactly at the budget.
            Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        });

        var pairs = new JsonArray([.. schemas.Select((s, i) => new JsonObject { ["schema"] = s.DeepClone(), ["content"] = contents[i] })]);
        var results = NodePeer.JsonSchema.Ask("validate.mjs", new JsonObject { ["pairs"] = pairs })["results"]!.AsArray();
        Assert.Equal(schemas.Count, results.Count);
        var failures = results.Select((r, i) => (r, i)).Where(x => !(bool)x.r!["valid"]!)
            .Select(x => $"schema {x.i}: {x.r!["errors"]}\n  {schemas[x.i].ToJsonString()}\n  {contents[x.i]}").ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} of {schemas.Count} responses do not validate:\n" + string.Join("\n", failures.Take(5)));
        // Not a trivial pass: the model wrote more than the shortest instances (strings, arrays and numbers of its own).
        Assert.True(contents.Sum(c => c.Length) > 2 * schemas.Sum(s => s.ToJsonString().Length) / 10);
    }
}
