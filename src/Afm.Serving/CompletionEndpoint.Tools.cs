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
    /// A choice of a request with tools, streamed as it is generated (<see cref="AutoCallStream"/>): the role, then text
    /// as content deltas until the model opens a call, then per call a delta with its index, id, type and name (empty
    /// arguments) and its arguments in pieces as the tokens come; then the finish reason ("tool_calls", or the
    /// generation's when the budget cut a call's arguments). An answer in a shape the stream cannot follow is read whole
    /// at its end, as the answer that is not streamed, and sent then.
    /// </summary>
    private async Task<(int Prompt, int Completion)> StreamToolAnswer(Choice choice, CompletionRequest request, Func<object[], object?, Task> send, CancellationToken aborted)
    {
        if (request.Tools!.Forced is not null) return await StreamForcedCall(choice, send, aborted);
        var none = (object?)null;
        var answer = new AutoCallStream(request.Tools!.Functions.Select(f => f.Name).ToList());
        var tokens = new List<TokenLogprob>();
        GenerationChunk? last = null;
        async Task Send(List<CallStreamEvent> events)
        {
            foreach (var e in events)
                await send([e switch
                {
                    CallStreamEvent.Content c => new { index = choice.Index, delta = (object)new { content = c.Text }, logprobs = none, finish_reason = none },
                    CallStreamEvent.CallStart s => new { index = choice.Index, delta = (object)new { tool_calls = new[] { new { index = s.Index, id = ToolCallParser.NewId(), type = "function", function = new { name = s.Name, arguments = "" } } } }, logprobs = none, finish_reason = none },
                    CallStreamEvent.Arguments a => new { index = choice.Index, delta = (object)new { tool_calls = new[] { new { index = a.Index, function = new { arguments = a.Text } } } }, logprobs = none, finish_reason = none },
                    _ => throw new InvalidOperationException("unknown stream event"),
                }], null);
        }
        await send([new { index = choice.Index, delta = new { role = "assistant", content = none }, logprobs = none, finish_reason = none }], null);
        await foreach (var chunk in generator.GenerateAsync(choice.PromptIds, choice.Options, aborted))
        {
            if (chunk.Logprobs is not null) tokens.AddRange(chunk.Logprobs);
            last = chunk;
            await Send(answer.Add(chunk.Text));
        }
        await Send(answer.Finish());
        var chatLogprobs = choice.Options.TopLogprobs is null ? null : logprobs.Chat(tokens);
        var finish = answer.Calls > 0 && !answer.CallCut ? "tool_calls" : Finish(last!.Finish);
        await send([new { index = choice.Index, delta = new { }, logprobs = chatLogprobs, finish_reason = finish }], null);
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
