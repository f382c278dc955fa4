using System.Text.Json;

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

    /// <summary>
    /// A GPT-2 style byte-level BPE folder (vocab.json: token -> id; merges.txt: "left right" per line in rank order
    /// after a "#version" line): ids below <paramref name="specialCount"/> are control tokens, the last
    /// <paramref name="reservedCount"/> unused ones. <paramref name="preTokenizer"/> is llama.cpp's name of the split rules.
    /// </summary>
    public static GgufVocabulary FromByteLevelBpe(string vocabJson, string mergesTxt, int specialCount, int reservedCount, int endOfTextId, string preTokenizer)
    {
        using var vocab = JsonDocument.Parse(File.ReadAllText(vocabJson));
        var byId = new SortedDictionary<int, string>();
        foreach (var entry in vocab.RootElement.EnumerateObject())
            if (!byId.TryAdd(entry.Value.GetInt32(), entry.Name)) throw new InvalidDataException($"{vocabJson}: id {entry.Value.GetInt32()} is given twice.");
        if (byId.Count == 0 || byId.Keys.First() != 0 || byId.Keys.Last() != byId.Count - 1)
            throw new InvalidDataException($"{vocabJson}: the ids are not 0..{byId.Count - 1}.");
        var tokens = byId.Values.ToArray();
        var merges = File.ReadLines(mergesTxt).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToArray();
        var types = Enumerable.Range(0, tokens.Length)
            .Select(id => id < specialCount ? Control : id >= tokens.Length - reservedCount ? Unused : Normal).ToArray();
        return new GgufVocabulary
        {
            PreTokenizer = preTokenizer, Tokens = tokens, TokenTypes = types, Merges = merges,
            BosId = endOfTextId, EosId = endOfTextId, PadId = endOfTextId, AddBos = false,
        };
    }

    /// <summary>The tokenizer.ggml.* keys with plain values (<see cref="GgufValue.From"/> gives each its GGUF type).</summary>
    public IEnumerable<KeyValuePair<string, object>> Metadata()
    {
        if (Tokens.Count != TokenTypes.Count) throw new ArgumentException($"{Tokens.Count} tokens but {TokenTypes.Count} token types.");
        yield return new(GgufNames.Keys.TokenizerModel, Model);
        yield return new(GgufNames.Keys.TokenizerPre, PreTokenizer);
        yield return new(GgufNames.Keys.Tokens, Tokens);
        yield return new(GgufNames.Keys.TokenTypes, TokenTypes);
        yield return new(GgufNames.Keys.Merges, Merges);
        if (BosId is { } bos) yield return new(GgufNames.Keys.BosId, (uint)bos);
        if (EosId is { } eos) yield return new(GgufNames.Keys.EosId, (uint)eos);
        if (PadId is { } pad) yield return new(GgufNames.Keys.PadId, (uint)pad);
        yield return new(GgufNames.Keys.AddBos, AddBos);
        yield return new(GgufNames.Keys.AddEos, false);
    }
}
