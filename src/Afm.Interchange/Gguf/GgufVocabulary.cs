namespace Afm.Interchange.Gguf;

/// <summary>
/// A tokenizer in the form GGUF stores it (the <c>tokenizer.ggml.*</c> keys): every token's text by id, its type
/// (llama.cpp's <c>llama_token_type</c>: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), the merges
/// of a BPE tokenizer as "left right" strings in rank order, the special ids, and the pre-tokenizer name llama.cpp
/// selects its split rules by (<c>tokenizer.ggml.pre</c>).
/// </summary>
public sealed record GgufVocabulary
{
    /// <summary>"gpt2" for a byte-level BPE (llama.cpp's LLAMA_VOCAB_TYPE_BPE).</summary>
    public string Model { get; init; } = "gpt2";
    public required string PreTokenizer { get; init; }
    public required IReadOnlyList<string> Tokens { get; init; }
    public required IReadOnlyList<int> TokenTypes { get; init; }
    public required IReadOnlyList<string> Merges { get; init; }
    public int? BosId { get; init; }
    public int? EosId { get; init; }
    public int? PadId { get; init; }
    public bool AddBos { get; init; }

    public const int Normal = 1, Control = 3, UserDefined = 4, Unused = 5;

    internal IEnumerable<KeyValuePair<string, GgufValue>> Metadata()
    {
        if (Tokens.Count != TokenTypes.Count) throw new ArgumentException($"{Tokens.Count} tokens but {TokenTypes.Count} token types.");
        yield return new(GgufNames.Keys.TokenizerModel, GgufValue.Of(Model));
        yield return new(GgufNames.Keys.TokenizerPre, GgufValue.Of(PreTokenizer));
        yield return new(GgufNames.Keys.Tokens, GgufValue.Of(Tokens));
        yield return new(GgufNames.Keys.TokenTypes, GgufValue.Of(TokenTypes));
        yield return new(GgufNames.Keys.Merges, GgufValue.Of(Merges));
        if (BosId is { } bos) yield return new(GgufNames.Keys.BosId, GgufValue.Of((uint)bos));
        if (EosId is { } eos) yield return new(GgufNames.Keys.EosId, GgufValue.Of((uint)eos));
        if (PadId is { } pad) yield return new(GgufNames.Keys.PadId, GgufValue.Of((uint)pad));
        yield return new(GgufNames.Keys.AddBos, GgufValue.Of(AddBos));
        yield return new(GgufNames.Keys.AddEos, GgufValue.Of(false));
    }
}
