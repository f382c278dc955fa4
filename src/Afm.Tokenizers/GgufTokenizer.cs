namespace Afm.Tokenizers;

/// <summary>
/// A byte-level BPE tokenizer as a GGUF file describes it for llama.cpp: the <c>tokenizer.ggml.*</c> keys, as plain data
/// that a GGUF writer serializes (<see cref="Metadata"/> gives each key with its value). llama.cpp does not read a
/// pre-tokenizer regex: it runs one of its built-in pre-tokenizers, picked by <see cref="Pre"/>, so only tokenizers whose
/// pattern is one of those can be described (the project's are, see <see cref="PreTokenization"/>).
/// </summary>
/// <param name="Model">"gpt2": llama.cpp's name for byte-level BPE.</param>
/// <param name="Pre">llama.cpp's pre-tokenizer name ("qwen2", "gpt2", "llama-bpe").</param>
/// <param name="Tokens">Every token in id order, spelled as the vocabulary spells it (byte-level characters).</param>
/// <param name="TokenTypes">llama.cpp's token types by id: <see cref="Normal"/>, <see cref="Control"/> (special added tokens) or <see cref="UserDefined"/> (other added tokens).</param>
/// <param name="Merges">The merges in rank order, "left right".</param>
public sealed record GgufTokenizer(string Model, string Pre, IReadOnlyList<string> Tokens, IReadOnlyList<int> TokenTypes,
    IReadOnlyList<string> Merges, int BosTokenId, int EosTokenId, int? PaddingTokenId, int? UnknownTokenId, bool AddBosToken,
    bool AddEosToken, string? ChatTemplate)
{
    // llama.cpp's llama_token_type values (gguf-py TokenType).
    public const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6;

    /// <summary>Pre-tokenizer patterns of imported tokenizers that llama.cpp runs under a name (besides the project's own).</summary>
    private static readonly Dictionary<string, string> KnownPatterns = new(StringComparer.Ordinal)
    {
        [@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"] = "qwen2",
        [@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"] = "llama-bpe",
    };

    /// <summary>
    /// The GGUF description of <paramref name="tokenizer"/>. Throws <see cref="NotSupportedException"/> for a tokenizer llama.cpp
    /// would tokenize differently: SentencePiece-style ones (not described yet), NFC normalization, or a pattern it has no name for.
    /// </summary>
    public static GgufTokenizer From(AfmTokenizer tokenizer)
    {
        if (tokenizer.Kind != TokenizerKind.ByteLevelBpe)
            throw new NotSupportedException("GGUF export of a SentencePiece-style tokenizer is not implemented; only byte-level BPE is described.");
        if (tokenizer.Model is ByteLevelBpeModel { Nfc: true })
            throw new NotSupportedException("The tokenizer normalizes to NFC, which llama.cpp does not do: its GGUF file would tokenize some text differently.");
        var pre = tokenizer.PreTokenizerPatterns is [var pattern]
            ? PreTokenization.LlamaCppName(pattern) ?? KnownPatterns.GetValueOrDefault(pattern)
            : null;
        if (pre is null)
            throw new NotSupportedException($"llama.cpp has no built-in pre-tokenizer for the pattern(s) {string.Join(" then ", tokenizer.PreTokenizerPatterns)}.");
        var types = Enumerable.Repeat(Normal, tokenizer.VocabSize).ToArray();
        foreach (var token in tokenizer.AddedTokens)
            types[token.Id] = token.Special ? Control : UserDefined;
        var roles = tokenizer.Roles;
        return new GgufTokenizer("gpt2", pre,
            Enumerable.Range(0, tokenizer.VocabSize).Select(tokenizer.Spelling).ToList(), types,
            tokenizer.Merges.Select(m => m.Left + " " + m.Right).ToList(),
            roles.BeginOfSequence ?? tokenizer.EndOfDocumentId, tokenizer.EndOfDocumentId, roles.Padding, roles.Unknown,
            roles.AddBeginOfSequence, AddEosToken: false, tokenizer.ChatTemplate);
    }

    /// <summary>The GGUF metadata keys and values, in the order llama.cpp's converter writes them. Values are string,
    /// string[], int[] (write as INT32 arrays), uint (ids, UINT32) or bool.</summary>
    public IReadOnlyList<KeyValuePair<string, object>> Metadata()
    {
        var keys = new List<KeyValuePair<string, object>>
        {
            new("tokenizer.ggml.model", Model),
            new("tokenizer.ggml.pre", Pre),
            new("tokenizer.ggml.tokens", Tokens.ToArray()),
            new("tokenizer.ggml.token_type", TokenTypes.ToArray()),
            new("tokenizer.ggml.merges", Merges.ToArray()),
            new("tokenizer.ggml.bos_token_id", (uint)BosTokenId),
            new("tokenizer.ggml.eos_token_id", (uint)EosTokenId),
        };
        if (UnknownTokenId is int unknown) keys.Add(new("tokenizer.ggml.unknown_token_id", (uint)unknown));
        if (PaddingTokenId is int padding) keys.Add(new("tokenizer.ggml.padding_token_id", (uint)padding));
        keys.Add(new("tokenizer.ggml.add_bos_token", AddBosToken));
        keys.Add(new("tokenizer.ggml.add_eos_token", AddEosToken));
        if (ChatTemplate is not null) keys.Add(new("tokenizer.chat_template", ChatTemplate));
        return keys;
    }
}
