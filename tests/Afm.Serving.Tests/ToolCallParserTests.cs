using Afm.Serving.Tools;

namespace Afm.Serving.Tests;

/// <summary>The formats chat templates teach models for calls, and what is left as text.</summary>
public sealed class ToolCallParserTests
{
    private static readonly string[] Names = ["get_weather", "get_time"];

    [Fact]
    public void Qwen_tool_call_blocks_after_text_are_calls_and_the_text_is_the_content()
    {
        var (content, calls) = ToolCallParser.Parse(
            "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", Names);
        Assert.Equal("Let me look.", content);
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
        Assert.Equal("{\"city\":\"Oslo\"}", calls[0].Arguments);
    }

    [Fact]
    public void An_unclosed_last_block_still_counts_when_its_json_is_whole() =>
        Assert.Single(ToolCallParser.Parse("<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}", Names).Calls);

    [Fact]
    public void Mistral_tool_calls_are_a_list()
    {
        var (content, calls) = ToolCallParser.Parse("[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}, {\"name\": \"get_time\", \"arguments\": {}}]", Names);
        Assert.Null(content);
        Assert.Equal(2, calls.Count);
    }

    [Fact]
    public void Llama_writes_parameters_and_may_lead_with_the_python_tag()
    {
        var (_, calls) = ToolCallParser.Parse("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}", Names);
        Assert.Equal("{\"city\":\"Oslo\"}", Assert.Single(calls).Arguments);
    }

    [Fact]
    public void Arguments_written_as_a_json_string_are_read_as_the_object_they_hold() =>
        Assert.Equal("{\"zone\":\"UTC\"}", Assert.Single(ToolCallParser.Parse("{\"name\": \"get_time\", \"arguments\": \"{\\\"zone\\\":\\\"UTC\\\"}\"}", Names).Calls).Arguments);

    [Theory]
    [InlineData("{\"name\": \"rm_rf\", \"arguments\": {}}")]
    [InlineData("{\"name\": \"get_time\", \"arguments\": [1]}")]
    [InlineData("The answer is {\"name\": \"get_time\", \"arguments\": {}} maybe")]
    [InlineData("<tool_call>\n{\"name\": \"get_time\", \"argu")]
    [InlineData("It is sunny.")]
    public void Anything_but_a_whole_call_of_a_declared_function_stays_text(string text)
    {
        var (content, calls) = ToolCallParser.Parse(text, Names);
        Assert.Empty(calls);
        Assert.Equal(text, content);
    }

    [Fact]
    public void Every_call_gets_its_own_id()
    {
        var (_, calls) = ToolCallParser.Parse("[TOOL_CALLS] [{\"name\": \"get_time\", \"arguments\": {}}, {\"name\": \"get_time\", \"arguments\": {}}]", Names);
        Assert.NotEqual(calls[0].Id, calls[1].Id);
    }
}
