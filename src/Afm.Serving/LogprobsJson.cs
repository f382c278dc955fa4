using Afm.Runtime.Generation;
using Afm.Tokenizers;

namespace Afm.Serving;

/// <summary>
/// Token log-probabilities in the two shapes of the OpenAI API: chat's <c>{"content": [{token, logprob, bytes,
/// top_logprobs}]}</c> and the completions' legacy <c>{tokens, token_logprobs, top_logprobs, text_offset}</c> (where a
/// token without a probability, the first of an echoed prompt, has null, and alternatives are an object from token
/// text to log-probability). A token's text is its own decoding, which for a piece of a UTF-8 sequence is U+FFFD; its
/// bytes are exact.
/// </summary>
internal sealed class LogprobsJson(AfmTokenizer tokenizer)
{
    public object Chat(IReadOnlyList<TokenLogprob> tokens) => new
    {
        content = tokens.Select(t => new
        {
            token = Token(t.Id),
            logprob = t.Logprob,
            bytes = Bytes(t.Id),
            top_logprobs = t.Top.Select(a => new { token = Token(a.Id), logprob = a.Logprob, bytes = Bytes(a.Id) }).ToArray(),
        }).ToArray(),
        refusal = (object?)null,
    };

    /// <param name="tokens">The tokens in text order; null log-probability where there is none.</param>
    /// <param name="offset">Where the first token's text begins in the choice's text.</param>
    public object Legacy(IReadOnlyList<(int Id, TokenLogprob? Logprob)> tokens, int offset)
    {
        var offsets = new int[tokens.Count];
        for (int i = 0; i < tokens.Count; i++)
        {
            offsets[i] = offset;
            offset += Token(tokens[i].Id).Length;
        }
        return new
        {
            tokens = tokens.Select(t => Token(t.Id)).ToArray(),
            token_logprobs = tokens.Select(t => t.Logprob?.Logprob).ToArray(),
            top_logprobs = tokens.Select(t => t.Logprob is { } l ? Alternatives(l) : null).ToArray(),
            text_offset = offsets,
        };
    }

    /// <summary>Alternatives keyed by text; two ids with the same text keep the likelier (the first, as they come sorted).</summary>
    private Dictionary<string, float> Alternatives(TokenLogprob token)
    {
        var alternatives = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var a in token.Top) alternatives.TryAdd(Token(a.Id), a.Logprob);
        return alternatives;
    }

    public string Token(int id) => tokenizer.Decode([id]);

    private int[] Bytes(int id) => Array.ConvertAll(tokenizer.TokenBytes(id), b => (int)b);
}
