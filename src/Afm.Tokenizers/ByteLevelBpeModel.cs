using System.Text;
using Microsoft.ML.Tokenizers;

namespace Afm.Tokenizers;

/// <summary>
/// Byte-level BPE: optional NFC, then the text is cut by the pre-tokenizer regexes in turn (each piece of one is split
/// by the next, as a Hugging Face Sequence of Split pre-tokenizers does), then each piece is merged by Microsoft.ML.Tokenizers'
/// byte-level <see cref="BpeTokenizer"/> (the vocabulary, the byte map, the ranked merges). The pre-tokenization is ours
/// (<see cref="UnicodeRegexSplitter"/>) so that pieces are cut at code points, not UTF-16 units.
/// </summary>
internal sealed class ByteLevelBpeModel : ITokenModel
{
    private readonly BpeTokenizer _bpe;
    private readonly UnicodeRegexSplitter[] _splitters;
    private readonly bool _nfc;
    private readonly bool _ignoreMerges;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly string[] _spellings;

    /// <param name="vocabulary">Every id's byte-level spelling, added tokens included (they must have ids below the count).</param>
    /// <param name="ignoreMerges">Hugging Face's <c>ignore_merges</c> (Llama-3): a piece that is a whole vocabulary entry is that token.</param>
    public ByteLevelBpeModel(IReadOnlyDictionary<string, int> vocabulary, IEnumerable<(string Left, string Right)> merges,
        IReadOnlyList<string> patterns, bool nfc, bool ignoreMerges, IReadOnlyDictionary<string, int> addedTokens)
    {
        _vocabulary = new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
        _spellings = new string[vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1];
        foreach (var (spelling, id) in vocabulary)
            _spellings[id] = spelling;
        _bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges.Select(m => m.Left + " " + m.Right),
            ByteLevel = true,
            SpecialTokens = addedTokens.Count == 0 ? null : addedTokens.ToDictionary(),
        });
        _splitters = patterns.Select(p => new UnicodeRegexSplitter(p)).ToArray();
        Merges = merges as IReadOnlyList<(string, string)> ?? merges.ToList();
        _nfc = nfc;
        _ignoreMerges = ignoreMerges;
        MaxTokenBytes = Math.Max(1, vocabulary.Keys.Max(k => k.Length));
    }

    public TokenizerKind Kind => TokenizerKind.ByteLevelBpe;
    public IReadOnlyList<string> PreTokenizerPatterns => _splitters.Select(s => s.Pattern).ToList();
    public IReadOnlyList<(string Left, string Right)> Merges { get; }
    public bool Nfc => _nfc;
    public bool IgnoreMerges => _ignoreMerges;
    public int VocabSize => _spellings.Length;
    public int MaxTokenBytes { get; }

    public void Encode(string text, bool atStart, List<int> ids)
    {
        if (_nfc && !text.IsNormalized(NormalizationForm.FormC))
            text = text.Normalize(NormalizationForm.FormC);
        EncodePieces(text.AsSpan(), 0, ids);
    }

    private void EncodePieces(ReadOnlySpan<char> text, int splitter, List<int> ids)
    {
        if (splitter == _splitters.Length)
        {
            if (_ignoreMerges && _vocabulary.TryGetValue(Spell(text), out var whole))
                ids.Add(whole);
            else
                ids.AddRange(_bpe.EncodeToIds(text, considerPreTokenization: false, considerNormalization: false));
            return;
        }
        foreach (var (offset, length) in _splitters[splitter].Split(text))
            EncodePieces(text.Slice(offset, length), splitter + 1, ids);
    }

    private static string Spell(ReadOnlySpan<char> text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text)];
        Encoding.UTF8.GetBytes(text, bytes);
        return ByteLevelAlphabet.Map(bytes);
    }

    public string Decode(IEnumerable<int> ids) => _bpe.Decode(ids, considerSpecialTokens: true);

    public string Spelling(int id) => _spellings[id];
}
