using System.Text;
using System.Text.Json.Nodes;
using Afm.Serving.Tools;

namespace Afm.Serving.Tests;

/// <summary>A forced call read piece by piece, however the tokens split it.</summary>
public sealed class ForcedCallStreamTests
{
    private const string Call = " {\r\"name\" : \"get_weather\",\n \"arguments\":  { \"city\": \"O}s{lo \\\"x\\\" \\\\\", \"days\" : [1, 2],\"unit\":\"c\" } }";

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void The_name_comes_once_then_the_arguments_in_pieces_compact_and_whole(int piece)
    {
        var stream = new ForcedCallStream();
        var arguments = new StringBuilder();
        int named = 0, pieces = 0;
        for (int i = 0; i < Call.Length; i += piece)
        {
            var (known, text) = stream.Add(Call.Substring(i, Math.Min(piece, Call.Length - i)));
            named += known ? 1 : 0;
            pieces += text.Length > 0 ? 1 : 0;
            arguments.Append(text);
        }
        Assert.Equal(1, named);
        Assert.Equal("get_weather", stream.Name);
        Assert.True(stream.Complete);
        Assert.True(pieces > 1);
        Assert.Equal("{\"city\":\"O}s{lo \\\"x\\\" \\\\\",\"days\":[1,2],\"unit\":\"c\"}", arguments.ToString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Call)!["arguments"], JsonNode.Parse(arguments.ToString())));
    }

    [Fact]
    public void Arguments_cut_by_the_budget_are_not_complete()
    {
        var stream = new ForcedCallStream();
        stream.Add(Call[..60]);
        Assert.Equal("get_weather", stream.Name);
        Assert.False(stream.Complete);
    }
}
