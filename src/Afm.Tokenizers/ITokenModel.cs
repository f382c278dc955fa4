namespace Afm.Tokenizers;

/// <summary>What differs between tokenizer kinds once added tokens are cut out of the text: encoding ordinary text and decoding.</summary>
internal interface ITokenModel
{
    TokenizerKind Kind { get; }

    /// <summary>Every id, added tokens included.</summary>
    int VocabSize { get; }

    /// <summary>The most UTF-8 bytes one (ordinary) token decodes to.</summary>
    int MaxTokenBytes { get; }

    /// <summary>Appends the ids of <paramref name="text"/>, a stretch without added tokens; <paramref name="atStart"/> says it
    /// begins the whole text (SentencePiece-style tokenizers prepend "▁" only there).</summary>
    void Encode(string text, bool atStart, List<int> ids);

    /// <summary>The text of <paramref name="ids"/>; added tokens decode to their content.</summary>
    string Decode(IEnumerable<int> ids);

    /// <summary>The pre-tokenizer regexes applied in turn (byte-level BPE); empty for SentencePiece-style models.</summary>
    IReadOnlyList<string> PreTokenizerPatterns => [];

    /// <summary>The merges in rank order, as the vocabulary spells their parts; empty when the model has none to show.</summary>
    IReadOnlyList<(string Left, string Right)> Merges => [];

    /// <summary>Token <paramref name="id"/> as the vocabulary spells it (byte-level characters, or "▁" for a space).</summary>
    string Spelling(int id);

    /// <summary>
    /// The bytes ordinary token <paramref name="id"/> stands for on its own (which may be part of a UTF-8 sequence, so
    /// not always text): what the OpenAI API's logprobs report as a token's <c>bytes</c>.
    /// </summary>
    byte[] TokenBytes(int id);
}
