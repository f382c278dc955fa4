using System.Text;
using System.Text.Json.Nodes;
using Afm.Serving.Tools;

namespace Afm.Serving.Tests;

/// <summary>
/// A tool_choice auto answer read as it is generated: text streams as content, a call as its name and then its
/// arguments in pieces, however the tokens split it; and what is sent adds up to what the parser reads from the whole.
/// </summary>
public sealed class AutoCallStreamTests
{
    private static readonly string[] Names = ["get_weather", "get_time"];

    /// <summary>The content, and each call's name and arguments, as a client puts the deltas together; and how many pieces there were.</summary>
    private static (string Content, List<(string Name, string Arguments)> Calls, int Pieces, bool Cut) Stream(string answer, int piece)
    {
        var stream = new AutoCallStream(Names);
        var events = new List<CallStreamEvent>();
        for (int i = 0; i < answer.Length; i += piece)
            events.AddRange(stream.Add(answer.Substring(i, Math.Min(piece, answer.Length - i))));
        var pieces = events.Count;
        events.AddRange(stream.Finish());
        var content = new StringBuilder();
        var calls = new List<(string Name, StringBuilder Arguments)>();
        foreach (var e in events)
            switch (e)
            {
                case CallStreamEvent.Content c: content.Append(c.Text); break;
                case CallStreamEvent.CallStart s: Assert.Equal(calls.Count, s.Index); calls.Add((s.Name, new StringBuilder())); break;
                case CallStreamEvent.Arguments a: calls[a.Index].Arguments.Append(a.Text); break;
            }
        Assert.Equal(calls.Count, stream.Calls);
        return (content.ToString(), calls.Select(c => (c.Name, c.Arguments.ToString())).ToList(), pieces, stream.CallCut);
    }

    private static void AssertSameAsParsed(string answer, (string Content, List<(string Name, string Arguments)> Calls, int Pieces, bool Cut) streamed)
    {
        var (content, calls) = ToolCallParser.Parse(answer, Names);
        Assert.Equal(calls.Select(c => c.Name), streamed.Calls.Select(c => c.Name));
        foreach (var (parsed, sent) in calls.Zip(streamed.Calls))
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(parsed.Arguments), JsonNode.Parse(sent.Arguments)), sent.Arguments);
        if (calls.Count == 0) Assert.Equal(answer, streamed.Content);
        else Assert.Equal(content ?? "", streamed.Content.Trim());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(1000)]
    public void Text_without_a_call_is_content_as_it_comes(int piece)
    {
        const string answer = "It is <b>sunny</b> [mostly] and {warm}.";
        var streamed = Stream(answer, piece);
        Assert.Empty(streamed.Calls);
        Assert.Equal(answer, streamed.Content);
        if (piece == 1) Assert.True(streamed.Pieces > 10, "text is sent before the answer ends");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void Hermes_calls_after_text_stream_as_content_then_each_call_in_pieces(int piece)
    {
        const string answer = "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"unit\": \"celsius\"}}\n</tool_call>\n"
            + "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}\n</tool_call>";
        var streamed = Stream(answer, piece);
        Assert.Equal(2, streamed.Calls.Count);
        Assert.Equal("{\"city\":\"Oslo\",\"unit\":\"celsius\"}", streamed.Calls[0].Arguments);
        Assert.True(streamed.Pieces > 6);
        Assert.False(streamed.Cut);
        AssertSameAsParsed(answer, streamed);
    }

    [Theory]
    [InlineData("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"unit\": \"f\"}}")]
    [InlineData("  <|python_tag|>{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}")]
    [InlineData("[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}, {\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}]")]
    public void The_convention_Llama_and_Mistral_calls_stream_too(string answer)
    {
        var streamed = Stream(answer, 2);
        Assert.NotEmpty(streamed.Calls);
        Assert.Equal("", streamed.Content);
        AssertSameAsParsed(answer, streamed);
    }

    [Theory]
    [InlineData("{\"arguments\": {\"city\": \"Oslo\"}, \"name\": \"get_weather\"}")] // keys in another order
    [InlineData("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}")] // Llama's key
    [InlineData("{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Oslo\\\"}\"}")] // arguments as a JSON text
    [InlineData("<tool_call>{\"name\": \"nope\", \"arguments\": {}}</tool_call>")] // an undeclared function: text
    [InlineData("{\"city\": \"Oslo\"} is a JSON object")] // not a call: text
    public void Other_shapes_are_read_whole_at_the_end_as_the_answer_that_is_not_streamed(string answer) =>
        AssertSameAsParsed(answer, Stream(answer, 3));

    [Fact]
    public void Arguments_cut_by_the_budget_end_the_stream_cut()
    {
        var streamed = Stream("<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Os", 3);
        Assert.Equal("get_weather", Assert.Single(streamed.Calls).Name);
        Assert.Equal("{\"city\":\"Os", streamed.Calls[0].Arguments);
        Assert.True(streamed.Cut);
    }

    [Fact]
    public void Text_after_a_call_is_read_once_however_long_it_is()
    {
        // 200,000 tokens of text after a call (a model that does not stop): each is looked at once, not the whole tail
        // again per token (a rescan would be 10^11 character comparisons here).
        var stream = new AutoCallStream(Names);
        stream.Add("<tool_call>{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}</tool_call>");
        for (int i = 0; i < 200_000; i++) Assert.Empty(stream.Add(" more"));
        Assert.Empty(stream.Finish());
        Assert.Equal(1, stream.Calls);
    }

    [Fact]
    public void A_suffix_that_could_open_a_call_is_held_until_it_cannot()
    {
        var stream = new AutoCallStream(Names);
        Assert.Equal("Hi ", Assert.IsType<CallStreamEvent.Content>(Assert.Single(stream.Add("Hi <tool"))).Text);
        Assert.Equal("<toolbox", Assert.IsType<CallStreamEvent.Content>(Assert.Single(stream.Add("box"))).Text);
    }
}
