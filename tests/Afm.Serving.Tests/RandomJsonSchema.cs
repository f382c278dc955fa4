using System.Text.Json.Nodes;

namespace Afm.Serving.Tests;

/// <summary>
/// Seeded random JSON schemas of what structured output enforces (src/Afm.Serving/README.md, <c>response_format</c>): an
/// object at the root (as the OpenAI API asks of json_schema), then objects (properties, a random subset required,
/// <c>additionalProperties: false</c> or absent), arrays, the five scalar types, <c>enum</c> and <c>const</c> of
/// strings, booleans and null, with annotations here and there. Names and strings include spaces, quotes, backslashes
/// and non-ASCII letters, which the output must escape as JSON does.
/// </summary>
internal static class RandomJsonSchema
{
    private static readonly string[] Names = ["id", "name", "a b", "naïve", "q\"t", "back\\slash", "x-y", "ünï", "count", "tags", "ok", "日本"];
    private static readonly string[] Strings = ["red", "", "with space", "é", "\"quoted\"", "tab\tbed", "z"];

    /// <param name="nodes">The most schema nodes (so the shortest instance stays far below the request's max_tokens).</param>
    public static JsonObject Generate(Random random, int nodes = 12)
    {
        int left = nodes - 1;
        return Object(random, 0, ref left);
    }

    private static JsonObject Node(Random random, int depth, ref int left)
    {
        left--;
        int kind = random.Next(depth >= 3 || left <= 0 ? 7 : 9);
        var schema = kind switch
        {
            0 => new JsonObject { ["type"] = "string" },
            1 => new JsonObject { ["type"] = "number" },
            2 => new JsonObject { ["type"] = "integer" },
            3 => new JsonObject { ["type"] = "boolean" },
            4 => new JsonObject { ["type"] = "null" },
            5 => new JsonObject { ["enum"] = new JsonArray([.. Enumerable.Range(0, 1 + random.Next(4)).Select(_ => Scalar(random)).DistinctBy(v => v?.ToJsonString())]) },
            6 => new JsonObject { ["const"] = Scalar(random) },
            7 => new JsonObject { ["type"] = "array", ["items"] = Node(random, depth + 1, ref left) },
            _ => Object(random, depth + 1, ref left),
        };
        Annotate(random, schema);
        return schema;
    }

    private static JsonObject Object(Random random, int depth, ref int left)
    {
        var properties = new JsonObject();
        foreach (var name in Names.OrderBy(_ => random.Next()).Take(random.Next(left > 0 ? 5 : 1)))
            if (left > 0) properties[name] = Node(random, depth, ref left);
        var schema = new JsonObject { ["type"] = "object", ["properties"] = properties };
        var required = properties.Select(p => p.Key).Where(_ => random.Next(3) > 0).ToList();
        if (required.Count > 0) schema["required"] = new JsonArray([.. required.Select(r => JsonValue.Create(r))]);
        if (random.Next(3) > 0) schema["additionalProperties"] = false;
        return schema;
    }

    private static JsonNode? Scalar(Random random) => random.Next(5) switch
    {
        0 => JsonValue.Create(random.Next(2) == 0),
        1 => null,
        _ => JsonValue.Create(Strings[random.Next(Strings.Length)]),
    };

    private static void Annotate(Random random, JsonObject schema)
    {
        if (random.Next(4) == 0) schema["description"] = "what the model should put here";
        if (random.Next(6) == 0) schema["title"] = "T";
    }
}
