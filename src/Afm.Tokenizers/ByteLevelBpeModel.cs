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
            PreTokenizer = new SplitterPreTokenizer(this),
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
        if (!_ignoreMerges)
        {
            // One call: the library pre-tokenizes with Pieces (below), merges each piece and caches frequent ones.
            ids.AddRange(_bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false));
            return;
        }
        var pieces = new List<(int Offset, int Length)>();
        AddPieces(text, 0, 0, pieces);
        foreach (var (offset, length) in pieces)
        {
            var piece = text.AsSpan(offset, length);
            if (_vocabulary.TryGetValue(Spell(piece), out var whole))
                ids.Add(whole);
            else
                ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
    }

    /// <summary>The pieces of <paramref name="text"/> (at <paramref name="at"/> in the whole) after splitters <paramref name="splitter"/>.. in turn.</summary>
    private void AddPieces(ReadOnlySpan<char> text, int at, int splitter, List<(int Offset, int Length)> pieces)
    {
        if (splitter == _splitters.Length)
        {
            pieces.Add((at, text.Length));
            return;
        }
        foreach (var (offset, length) in _splitters[splitter].Split(text))
            AddPieces(text.Slice(offset, length), at + offset, splitter + 1, pieces);
    }

    /// <summary>Our pre-tokenization as the library's pre-tokenizer, so that encoding a stretch is one library call.</summary>
    private sealed class SplitterPreTokenizer(ByteLevelBpeModel model) : PreTokenizer
    {
        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => PreTokenize(text.AsSpan());

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
        {
            var pieces = new List<(int Offset, int Length)>();
            model.AddPieces(text, 0, 0, pieces);
            return pieces;
        }
    }

    private static string Spell(ReadOnlySpan<char> text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text)];
        Encoding.UTF8.GetBytes(text, bytes);
        return ByteLevelAlphabet.Map(bytes);
    }

    public string Decode(IEnumerable<int> ids) => _bpe.Decode(ids, considerSpecialTokens: true);

    public string Spelling(int id) => _spellings[id];

    public byte[] TokenBytes(int id) =>
        ((uint)id < (uint)_spellings.Length && _spellings[id] is { } spelling ? ByteLevelAlphabet.Unmap(spelling) : null) ?? Encoding.UTF8.GetBytes(Decode([id]));
}
