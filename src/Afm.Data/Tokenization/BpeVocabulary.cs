using Afm.Tokenizers;

namespace Afm.Data.Tokenization;

/// <summary>
/// A trained byte-level BPE vocabulary. Ids: special tokens 0..S-1, bytes S..S+255 (byte b has id S+b), then
/// merged tokens in the order they were learned, then reserved tokens <c>&lt;|reserved_k|&gt;</c> up to the
/// requested size.
/// </summary>
/// <remarks>
/// A corpus with few distinct words runs out of merges before the requested size. Padding with reserved
/// tokens (never produced by encoding) keeps the vocabulary exactly the size the project declares, so the
/// model's embedding size and the tokenizer always agree.
/// </remarks>
public sealed class BpeVocabulary
{
    private readonly IReadOnlyList<byte[]> _tokenBytes; // indexed by id - S
    private readonly IReadOnlyList<(int Left, int Right)> _merges; // in ids without the S offset

    internal BpeVocabulary(BpeTrainingOptions options, IReadOnlyList<string> specialTokens, string preTokenizerPattern,
        IReadOnlyList<byte[]> tokenBytes, IReadOnlyList<(int Left, int Right)> merges)
    {
        Options = options;
        SpecialTokens = specialTokens;
        PreTokenizerPattern = preTokenizerPattern;
        _tokenBytes = tokenBytes;
        _merges = merges;
        _reserved = ReservedSpellings(Math.Max(0, options.VocabSize - LearnedVocabSize));
    }

    private readonly IReadOnlyList<string> _reserved;

    public BpeTrainingOptions Options { get; }
    public IReadOnlyList<string> SpecialTokens { get; }
    public string PreTokenizerPattern { get; }
    public int VocabSize => LearnedVocabSize + _reserved.Count;
    /// <summary>Special, byte and merged tokens: the ids encoding can produce.</summary>
    public int LearnedVocabSize => SpecialTokens.Count + _tokenBytes.Count;
    public int ReservedCount => _reserved.Count;
    public int MergeCount => _merges.Count;
    public int EndOfDocumentId => 0;

    /// <summary>The byte-level spelling of token <paramref name="id"/> as it appears in vocab.json.</summary>
    public string Spelling(int id) =>
        id < SpecialTokens.Count ? SpecialTokens[id]
        : id < LearnedVocabSize ? ByteLevelAlphabet.Map(_tokenBytes[id - SpecialTokens.Count])
        : _reserved[id - LearnedVocabSize];

    private List<string> ReservedSpellings(int count)
    {
        // Skip any name a learned token already spells (possible only if the corpus contains that very text).
        var taken = Enumerable.Range(0, LearnedVocabSize).Select(Spelling).ToHashSet(StringComparer.Ordinal);
        var result = new List<string>(count);
        for (var k = 0; result.Count < count; k++)
        {
            var name = $"<|reserved_{k}|>";
            if (!taken.Contains(name))
                result.Add(name);
        }
        return result;
    }

    /// <summary>Writes the tokenizer folder (<see cref="TokenizerFolder"/>): same vocabulary, same bytes.</summary>
    public void Save(string directory)
    {
        var s = SpecialTokens.Count;
        TokenizerFolder.Write(directory, new TokenizerManifest
        {
            VocabSize = VocabSize,
            SplitDigits = Options.SplitDigits,
            ByteFallback = Options.ByteFallback,
            PreTokenizerPattern = PreTokenizerPattern,
            SpecialTokens = SpecialTokens,
            EndOfDocumentId = EndOfDocumentId,
            FirstByteId = s,
            MergeCount = MergeCount,
            ReservedCount = ReservedCount,
        }, Enumerable.Range(0, VocabSize).Select(Spelling).ToList(), _merges.Select(m => (Spelling(m.Left + s), Spelling(m.Right + s))));
    }
}
