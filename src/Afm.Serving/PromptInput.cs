using System.Text.Json;

namespace Afm.Serving;

/// <summary>
/// One prompt of a completions request: text (tokenized with the beginning-of-sequence token, as <c>afm run</c> does) or
/// token ids, which are used exactly as given. The OpenAI API's <c>prompt</c> takes a string, an array of strings, an
/// array of token ids or an array of such arrays; each prompt is answered by <c>n</c> choices. A chat template's prompt
/// has no beginning-of-sequence token added (<paramref name="AddBeginOfSequence"/> false): the template writes it.
/// </summary>
public sealed record PromptInput(string? Text, IReadOnlyList<int>? Ids = null, bool AddBeginOfSequence = true)
{
    internal static IReadOnlyList<PromptInput> Parse(JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var prompt)) throw new ApiError(400, "'prompt' is required.", "prompt");
        if (prompt.ValueKind == JsonValueKind.String) return [new PromptInput(CompletionRequest.Text(prompt, "prompt"))];
        if (prompt.ValueKind != JsonValueKind.Array || prompt.GetArrayLength() == 0)
            throw new ApiError(400, "'prompt' must be a string, an array of strings, an array of token ids or an array of arrays of token ids, and not empty.", "prompt");
        var items = prompt.EnumerateArray().ToList();
        if (items.All(i => i.ValueKind == JsonValueKind.String)) return items.ConvertAll(i => new PromptInput(CompletionRequest.Text(i, "prompt")));
        if (items.All(i => i.ValueKind == JsonValueKind.Number)) return [new PromptInput(null, TokenIds(prompt))];
        if (items.All(i => i.ValueKind == JsonValueKind.Array)) return items.ConvertAll(i => new PromptInput(null, TokenIds(i)));
        throw new ApiError(400, "'prompt' mixes kinds: use one string, strings, token ids or arrays of token ids.", "prompt");
    }

    /// <summary>A non-empty array of whole numbers from 0 up; the model's vocabulary bounds them once the model is known.</summary>
    private static int[] TokenIds(JsonElement array)
    {
        if (array.GetArrayLength() == 0) throw new ApiError(400, "A prompt of token ids must not be empty.", "prompt");
        return array.EnumerateArray().Select(id => id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var value) && value >= 0 ? value
            : throw new ApiError(400, $"Token ids in 'prompt' must be whole numbers from 0, got {CompletionRequest.Clip(id.GetRawText())}.", "prompt")).ToArray();
    }
}
