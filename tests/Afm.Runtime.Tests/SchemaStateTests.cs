using System.Text;
using System.Text.Json;
using Afm.Runtime.Generation.Constraints;
using Json.Schema;

namespace Afm.Runtime.Tests;

/// <summary>
/// Every text the schema automaton completes is JSON that an independent validator (JsonSchema.Net) accepts against the
/// schema: random walks through the automaton over random schemas, each run to completion as constrained decoding would
/// (any allowed character until a length, then only characters that bring the text closer to complete).
/// </summary>
public sealed class SchemaStateTests
{
    private const string Alphabet = "{}[]\",:0123456789-+.eE tfnrulasxdgop\\é";

    private static string RandomSchema(Random random, int depth)
    {
        int kind = random.Next(depth >= 3 ? 6 : 8);
        return kind switch
        {
            0 => "{\"type\":\"string\"}",
            1 => "{\"type\":\"number\"}",
            2 => "{\"type\":\"integer\"}",
            3 => "{\"type\":\"boolean\"}",
            4 => "{\"type\":\"null\"}",
            5 => "{\"enum\":[\"red\",\"green\",\"g\",null,true]}",
            6 => "{\"type\":\"array\",\"items\":" + RandomSchema(random, depth + 1) + "}",
            _ => "{\"type\":\"object\",\"properties\":{" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(i => $"\"a{i}\":" + RandomSchema(random, depth + 1)))
                 + "},\"additionalProperties\":false}",
        };
    }

    /// <summary>A random text of the automaton's language: free for <paramref name="freeLength"/> characters, then closing.</summary>
    private static string Walk(ITextAutomaton start, Random random, int freeLength)
    {
        var text = new StringBuilder();
        var state = start;
        while (!state.IsComplete || (text.Length < freeLength && random.Next(4) > 0))
        {
            var options = Alphabet.Select(c => (c, next: state.Advance(c))).Where(o => o.next is not null).ToList();
            if (text.Length >= freeLength)
                options = options.Where(o => o.next!.CharactersToComplete < state.CharactersToComplete).ToList();
            if (options.Count == 0) break;
            var (chosen, after) = options[random.Next(options.Count)];
            text.Append(chosen);
            state = after!;
        }
        Assert.True(state.IsComplete, $"stuck after '{text}'");
        return text.ToString();
    }

    [Fact]
    public void Every_completed_text_validates_against_its_schema()
    {
        var random = new Random(11);
        for (int s = 0; s < 60; s++)
        {
            var schemaText = RandomSchema(random, 0);
            using var schemaDocument = JsonDocument.Parse(schemaText);
            var start = SchemaState.Start(SchemaShape.Compile(schemaDocument.RootElement));
            var validator = JsonSchema.FromText(schemaText);
            for (int w = 0; w < 20; w++)
            {
                var text = Walk(start, random, random.Next(40));
                using var instance = JsonDocument.Parse(text);
                Assert.True(validator.Evaluate(instance.RootElement).IsValid, $"schema {schemaText}\ntext {text}");
            }
        }
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("tab\tbed")]
    [InlineData("q\"t")]
    [InlineData("back\\slash")]
    [InlineData("naïve 日本")]
    public void A_key_with_spaces_quotes_or_other_letters_is_written_as_JSON_writes_it(string key)
    {
        // Found by the 200 random schemas over HTTP (StructuredOutputAcceptanceTests): the space of "a b" was refused as
        // whitespace, and the constrained choice ended cut.
        var schema = new System.Text.Json.Nodes.JsonObject { ["type"] = "object", ["properties"] = new System.Text.Json.Nodes.JsonObject { [key] = new System.Text.Json.Nodes.JsonObject { ["type"] = "integer" } } };
        using var document = JsonDocument.Parse(schema.ToJsonString());
        ITextAutomaton? state = SchemaState.Start(SchemaShape.Compile(document.RootElement));
        var text = "{ " + JsonSerializer.Serialize(key) + ": 1}";
        foreach (var c in text) state = state?.Advance(c);
        Assert.True(state is { IsComplete: true }, text);
    }

    [Theory]
    [InlineData("123456789012345", true)]
    [InlineData("-123456789012345.25e-99", true)]
    [InlineData("1234567890123456", false)] // past 2^53: no longer exact
    [InlineData("222e4999", false)] // JavaScript reads Infinity
    [InlineData("1.5E+100", false)]
    public void A_number_is_a_finite_double(string number, bool allowed)
    {
        using var document = JsonDocument.Parse("{\"type\":\"number\"}");
        ITextAutomaton? state = SchemaState.Start(SchemaShape.Compile(document.RootElement));
        foreach (var c in number) state = state?.Advance(c);
        Assert.Equal(allowed, state is { IsComplete: true });
    }

    [Fact]
    public void The_characters_to_complete_a_schema_are_its_shortest_instance()
    {
        using var schema = JsonDocument.Parse("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"ok\":{\"type\":\"boolean\"}}}");
        var start = SchemaState.Start(SchemaShape.Compile(schema.RootElement));
        const string shortest = "{\"name\":\"\",\"tags\":[],\"ok\":true}";
        Assert.Equal(shortest.Length, start.CharactersToComplete);
        ITextAutomaton? state = start;
        foreach (var c in shortest) state = state?.Advance(c);
        Assert.True(state is { IsComplete: true, CharactersToComplete: 0 });
    }

    [Theory]
    [InlineData("{\"type\":\"string\",\"pattern\":\"a+\"}", "pattern")]
    [InlineData("{\"anyOf\":[{\"type\":\"string\"}]}", "type")]
    [InlineData("{\"$ref\":\"#/$defs/x\"}", "type")]
    [InlineData("{\"enum\":[1,2]}", "enum[0]")]
    [InlineData("{\"type\":\"array\"}", "items")]
    [InlineData("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"minimum\":3}}}", "minimum")]
    public void A_keyword_the_constraint_cannot_enforce_is_refused_by_name(string schema, string named)
    {
        using var document = JsonDocument.Parse(schema);
        var error = Assert.Throws<SchemaException>(() => SchemaShape.Compile(document.RootElement));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_schema_nested_beyond_the_limit_is_refused()
    {
        var schema = string.Concat(Enumerable.Repeat("{\"type\":\"array\",\"items\":", SchemaShape.MaxDepth + 2)) + "{\"type\":\"null\"}" + new string('}', SchemaShape.MaxDepth + 2);
        using var document = JsonDocument.Parse(schema);
        Assert.Throws<SchemaException>(() => SchemaShape.Compile(document.RootElement));
    }

    [Fact]
    public void A_schema_with_thousands_of_properties_is_compared_and_measured_without_walking_recursively()
    {
        var properties = string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"\"p{i}\":{{\"type\":\"integer\"}}"));
        using var schema = JsonDocument.Parse("{\"type\":\"object\",\"properties\":{" + properties + "}}");
        var shape = SchemaShape.Compile(schema.RootElement);
        var a = SchemaState.Start(shape).Advance('{')!;
        var b = SchemaState.Start(shape).Advance('{')!;
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(shape.Shortest - 1, a.CharactersToComplete);
        Assert.NotEqual(a, a.Advance('"'));
    }
}
