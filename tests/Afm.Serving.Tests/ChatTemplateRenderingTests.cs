using System.Text.Json.Nodes;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>
/// ONNX Runtime GenAI's renderer (what <see cref="ChatTemplate"/> uses) against Hugging Face's own (@huggingface/jinja,
/// tests/peers/hf-jinja) on the real chat templates of six model families (ChatTemplates/*.json, each naming its
/// source), with the messages as the server reads them (<see cref="ChatPrompt.Read"/>): the same text, byte for byte.
/// </summary>
public sealed class ChatTemplateRenderingTests
{
    public static TheoryData<string> Templates() => new(ChatTemplateFiles.Names);

    private const string Tools = """
        [{"type":"function","function":{"name":"get_weather","description":"The weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}]
        """;

    private const string Chat = """
        {"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Name a colour."},
        {"role":"assistant","content":"Blue."},{"role":"user","content":[{"type":"text","text":"And "},{"type":"text","text":"another?"}]}]}
        """;

    // A tool round trip: the call's id has the 9 characters Mistral's template insists on.
    private const string ToolRoundTrip = """
        {"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Weather in Oslo?"},
        {"role":"assistant","content":null,"tool_calls":[{"id":"call00001","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Oslo\"}"}}]},
        {"role":"tool","tool_call_id":"call00001","content":"{\"temperature\": 3}"}]}
        """;

    [Theory]
    [MemberData(nameof(Templates))]
    public void A_chat_renders_as_Hugging_Face_renders_it(string name) => Compare(name, Chat, tools: null);

    [Theory]
    [MemberData(nameof(Templates))]
    public void A_question_with_tools_renders_as_Hugging_Face_renders_it(string name) =>
        Compare(name, """{"messages":[{"role":"user","content":"Weather in Oslo?"}]}""", Tools);

    [Theory]
    [MemberData(nameof(Templates))]
    public void A_tool_call_and_its_result_render_as_Hugging_Face_renders_them(string name) => Compare(name, ToolRoundTrip, Tools);

    private static void Compare(string name, string request, string? tools)
    {
        var (source, bos, eos) = ChatTemplateFiles.Read(name);
        using var document = System.Text.Json.JsonDocument.Parse(request);
        var messages = ChatPrompt.Read(document.RootElement);
        var toolArray = tools is null ? null : JsonNode.Parse(tools)!.AsArray();

        var reference = NodePeer.HuggingFaceJinja.Ask("render.mjs", new JsonObject
        {
            ["template"] = source, ["messages"] = messages.DeepClone(), ["tools"] = toolArray?.DeepClone(),
            ["bos_token"] = bos ?? "", ["eos_token"] = eos ?? "", ["add_generation_prompt"] = true,
        });
        using var template = ChatTemplate.Load(source, bos, eos);
        Assert.Null((string?)reference["error"]);
        Assert.Equal((string)reference["text"]!, template.Render(messages, toolArray));
    }
}
