using System.Text;
using Afm.Runtime.Generation;
using Afm.Serving.Tools;

namespace Afm.Serving;

/// <summary>A chat answer read as tool calls (specs/serving.md, "Tools").</summary>
internal sealed partial class CompletionEndpoint
{
    /// <summary>
    /// The assistant message of a chat choice: with tools whose calls are parsed, the calls the text holds become
    /// <c>tool_calls</c> (content: the text before them, or null) and the finish reason "tool_calls".
    /// </summary>
    private static (object Message, string? Finish) AssistantMessage(string text, ToolRequest? tools, FinishReason? finish)
    {
        if (tools is { ParsesCalls: true })
        {
            var (content, calls) = ToolCallParser.Parse(text, tools.Functions.Select(f => f.Name).ToList());
            if (calls.Count > 0) return (new { role = "assistant", content, tool_calls = calls.Select(Call).ToList() }, "tool_calls");
        }
        return (new { role = "assistant", content = text }, Finish(finish));
    }

    private static object Call(ToolCall call) => new { id = call.Id, type = "function", function = new { name = call.Name, arguments = call.Arguments } };

    /// <summary>
    /// A choice of a request with tools, streamed: whether the text is a call is known only once it is whole, so the
    /// choice is generated first, then sent as OpenAI streams it: the role, then for each call a delta with its index,
    /// id, type and name (empty arguments) and one with its arguments, or the text as one content delta; then the
    /// finish reason.
    /// </summary>
    private async Task<(int Prompt, int Completion)> StreamToolAnswer(Choice choice, CompletionRequest request, Func<object[], object?, Task> send, CancellationToken aborted)
    {
        if (request.Tools!.Forced is not null) return await StreamForcedCall(choice, send, aborted);
        var text = new StringBuilder();
        var tokens = new List<TokenLogprob>();
        GenerationChunk? last = null;
        await foreach (var chunk in generator.GenerateAsync(choice.PromptIds, choice.Options, aborted))
        {
            text.Append(chunk.Text);
            if (chunk.Logprobs is not null) tokens.AddRange(chunk.Logprobs);
            last = chunk;
        }
        var none = (object?)null;
        await send([new { index = choice.Index, delta = new { role = "assistant", content = none }, logprobs = none, finish_reason = none }], null);
        var (content, calls) = ToolCallParser.Parse(text.ToString(), request.Tools!.Functions.Select(f => f.Name).ToList());
        var chatLogprobs = choice.Options.TopLogprobs is null ? null : logprobs.Chat(tokens);
        if (calls.Count == 0)
        {
            await send([new { index = choice.Index, delta = new { content = text.ToString() }, logprobs = chatLogprobs, finish_reason = none }], null);
            await send([new { index = choice.Index, delta = new { }, logprobs = none, finish_reason = Finish(last!.Finish) }], null);
        }
        else
        {
            if (content is not null) await send([new { index = choice.Index, delta = new { content }, logprobs = none, finish_reason = none }], null);
            for (int i = 0; i < calls.Count; i++)
            {
                var call = calls[i];
                await send([new { index = choice.Index, delta = new { tool_calls = new[] { new { index = i, id = call.Id, type = "function", function = new { name = call.Name, arguments = "" } } } }, logprobs = none, finish_reason = none }], null);
                await send([new { index = choice.Index, delta = new { tool_calls = new[] { new { index = i, function = new { arguments = call.Arguments } } } }, logprobs = none, finish_reason = none }], null);
            }
            await send([new { index = choice.Index, delta = new { }, logprobs = chatLogprobs, finish_reason = "tool_calls" }], null);
        }
        var stats = last!.Stats!;
        return (stats.PromptTokens, stats.CompletionTokens);
    }

    /// <summary>
    /// A forced call streamed as it is generated (<see cref="ForcedCallStream"/>): the role, then once the name is known a
    /// delta with index 0, id, type and name (empty arguments), then the arguments' characters in deltas as the tokens
    /// come, then the finish reason "tool_calls" ("length" when the budget ended the arguments). A budget too small for
    /// any call leaves the text as content, as the whole answer would.
    /// </summary>
    private async Task<(int Prompt, int Completion)> StreamForcedCall(Choice choice, Func<object[], object?, Task> send, CancellationToken aborted)
    {
        var none = (object?)null;
        var call = new ForcedCallStream();
        var tokens = new List<TokenLogprob>();
        GenerationChunk? last = null;
        await send([new { index = choice.Index, delta = new { role = "assistant", content = none }, logprobs = none, finish_reason = none }], null);
        await foreach (var chunk in generator.GenerateAsync(choice.PromptIds, choice.Options, aborted))
        {
            if (chunk.Logprobs is not null) tokens.AddRange(chunk.Logprobs);
            last = chunk;
            var (named, arguments) = call.Add(chunk.Text);
            if (named)
                await send([new { index = choice.Index, delta = new { tool_calls = new[] { new { index = 0, id = ToolCallParser.NewId(), type = "function", function = new { name = call.Name, arguments = "" } } } }, logprobs = none, finish_reason = none }], null);
            if (arguments.Length > 0)
                await send([new { index = choice.Index, delta = new { tool_calls = new[] { new { index = 0, function = new { arguments } } } }, logprobs = none, finish_reason = none }], null);
        }
        var chatLogprobs = choice.Options.TopLogprobs is null ? null : logprobs.Chat(tokens);
        if (call.Name is null)
        {
            if (call.Text.Length > 0) await send([new { index = choice.Index, delta = new { content = call.Text }, logprobs = chatLogprobs, finish_reason = none }], null);
            await send([new { index = choice.Index, delta = new { }, logprobs = none, finish_reason = Finish(last!.Finish) }], null);
        }
        else
            await send([new { index = choice.Index, delta = new { }, logprobs = chatLogprobs, finish_reason = call.Complete ? "tool_calls" : "length" }], null);
        var stats = last!.Stats!;
        return (stats.PromptTokens, stats.CompletionTokens);
    }
}
