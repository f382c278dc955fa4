using System.Text.Json;
using Afm.Runtime;
using Microsoft.AspNetCore.Http;

namespace Afm.Serving;

/// <summary>
/// POST /tokenize and POST /detokenize with llama-server's names and shapes: <c>{"content", "add_special", "with_pieces"}</c>
/// answers <c>{"tokens": [ids]}</c> (with pieces: <c>[{"id", "piece"}]</c>, the piece being the token's text as the
/// tokenizer decodes it alone); <c>{"tokens": [ids]}</c> answers <c>{"content"}</c>. <c>add_special</c> puts the
/// beginning-of-sequence token a prompt starts with first, as a completion's prompt is tokenized. The body is bounded by
/// Kestrel (<see cref="ServerOptions.MaxRequestBytes"/>), so one request tokenizes at most that much text.
/// </summary>
internal sealed class TokenizeEndpoints(AfmModel model)
{
    public async Task Tokenize(HttpContext context)
    {
        try
        {
            var body = await Read(context);
            var content = body.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()!
                : throw new ApiError(400, "'content' must be a string: the text to tokenize.", "content");
            bool addSpecial = Flag(body, "add_special"), withPieces = Flag(body, "with_pieces");
            var ids = addSpecial ? model.Tokenizer.EncodeSequence(content) : model.Tokenizer.Encode(content);
            object tokens = withPieces ? ids.Select(id => new { id, piece = model.Tokenizer.Decode([id]) }).ToList() : ids;
            await context.Response.WriteAsJsonAsync(new { tokens }, context.RequestAborted);
        }
        catch (ApiError e)
        {
            await CompletionEndpoint.WriteError(context, e);
        }
    }

    public async Task Detokenize(HttpContext context)
    {
        try
        {
            var body = await Read(context);
            if (!body.TryGetProperty("tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array)
                throw new ApiError(400, "'tokens' must be an array of token ids.", "tokens");
            int vocabulary = model.Session.VocabSize;
            var ids = tokens.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out var id) && id >= 0 && id < vocabulary ? id
                : throw new ApiError(400, $"'tokens' holds {t.GetRawText()}, not a token id of this model (0 to {vocabulary - 1}).", "tokens")).ToList();
            await context.Response.WriteAsJsonAsync(new { content = model.Tokenizer.Decode(ids) }, context.RequestAborted);
        }
        catch (ApiError e)
        {
            await CompletionEndpoint.WriteError(context, e);
        }
    }

    private static async Task<JsonElement> Read(HttpContext context)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone()
                : throw new ApiError(400, "The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw new ApiError(400, $"The request body is not valid JSON: {e.Message}");
        }
    }

    private static bool Flag(JsonElement body, string name) => !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? false
        : value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean()
        : throw new ApiError(400, $"'{name}' must be true or false.", name);
}
