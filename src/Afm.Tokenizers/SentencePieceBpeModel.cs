using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Afm.Tokenizers;

/// <summary>When a SentencePiece-style tokenizer puts "▁" in front of a stretch of text.</summary>
internal enum SpacePrepend
{
    /// <summary>Llama-2's Hugging Face file (a Prepend normalizer): before every non-empty stretch between added tokens, even one
    /// that starts with a space (" a" becomes "▁▁a").</summary>
    EveryStretch,
    /// <summary>Metaspace with prepend_scheme "always": before every stretch not already starting with "▁".</summary>
    Always,
    /// <summary>Metaspace with prepend_scheme "first": only before the stretch at the start of the text, if not already "▁".</summary>
    First,
    Never,
}

/// <summary>
/// SentencePiece-style BPE as a Hugging Face tokenizer.json describes it (Llama-2, Mistral, OpenELM): spaces become "▁",
/// "▁" is prepended by <see cref="SpacePrepend"/>, characters merge by ranked merges (Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/>), and a character missing from the vocabulary becomes its UTF-8 bytes as &lt;0xXX&gt; tokens
/// (byte fallback) or the unknown token.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers' BpeTokenizer has no byte fallback, and its SentencePieceTokenizer reads only the protobuf
/// tokenizer.model, so this class cuts the text at characters missing from the vocabulary (no merge can touch one: the
/// loader checks that no merge involves a byte or unknown token) and writes their byte tokens itself; the library merges
/// the stretches in between. Decoding (▁ to space, byte tokens to bytes, one leading space stripped) is also written here.
/// </remarks>
internal sealed class SentencePieceBpeModel : ITokenModel
{
    public const char Space = '\u2581';

    private readonly BpeTokenizer _bpe;
    private readonly HashSet<string> _characters;
    private readonly int[] _byteIds; // -1 where the vocabulary has no <0xXX>
    private readonly Dictionary<int, byte> _bytesById = new();
    private readonly string[] _spellings;
    private readonly IReadOnlyDictionary<int, string> _addedById;
    private readonly int? _unknownId;
    private readonly bool _fuseUnknown;
    private readonly SpacePrepend _prepend;
    private readonly bool _splitAtSpace;

    public SentencePieceBpeModel(IReadOnlyDictionary<string, int> vocabulary, IEnumerable<(string Left, string Right)> merges,
        IReadOnlyDictionary<string, int> addedTokens, int? unknownId, bool byteFallback, bool fuseUnknown, SpacePrepend prepend, bool splitAtSpace)
    {
        _spellings = new string[vocabulary.Values.Max() + 1];
        foreach (var (spelling, id) in vocabulary)
            _spellings[id] = spelling;
        _characters = vocabulary.Keys.Where(k => k.EnumerateRunes().Count() == 1).ToHashSet(StringComparer.Ordinal);
        _byteIds = new int[256];
        Array.Fill(_byteIds, -1);
        if (byteFallback)
        {
            for (var b = 0; b < 256; b++)
            {
                if (vocabulary.TryGetValue(ByteToken((byte)b), out var id))
                {
                    _byteIds[b] = id;
                    _bytesById[id] = (byte)b;
                }
            }
        }
        _addedById = addedTokens.ToDictionary(p => p.Value, p => p.Key);
        _unknownId = unknownId;
        _fuseUnknown = fuseUnknown;
        _prepend = prepend;
        _splitAtSpace = splitAtSpace;
        _bpe = BpeTokenizer.Create(new BpeOptions(vocabulary) { Merges = merges.Select(m => m.Left + " " + m.Right) });
        MaxTokenBytes = Math.Max(4, vocabulary.Keys.Max(Encoding.UTF8.GetByteCount));
    }

    public static string ByteToken(byte b) => "<0x" + b.ToString("X2", CultureInfo.InvariantCulture) + ">";

    public TokenizerKind Kind => TokenizerKind.SentencePieceBpe;
    public int VocabSize => _spellings.Length;
    public int MaxTokenBytes { get; }

    public void Encode(string text, bool atStart, List<int> ids)
    {
        if (text.Length == 0)
            return;
        var normalized = text.Replace(' ', Space);
        var prepend = _prepend switch
        {
            SpacePrepend.EveryStretch => true,
            SpacePrepend.Always => normalized[0] != Space,
            SpacePrepend.First => atStart && normalized[0] != Space,
            _ => false,
        };
        if (prepend)
            normalized = Space + normalized;
        if (!_splitAtSpace)
        {
            EncodeWord(normalized, ids);
            return;
        }
        // Metaspace with split: every "▁" begins a new word (MergedWithNext).
        var start = 0;
        for (var i = 1; i <= normalized.Length; i++)
        {
            if (i == normalized.Length || normalized[i] == Space)
            {
                EncodeWord(normalized[start..i], ids);
                start = i;
            }
        }
    }

    /// <summary>Stretches of characters the vocabulary has go to the library's BPE; each other character falls back.</summary>
    private void EncodeWord(string word, List<int> ids)
    {
        var start = 0;
        var i = 0;
        while (i < word.Length)
        {
            var rune = Rune.GetRuneAt(word, i);
            var length = rune.Utf16SequenceLength;
            if (_characters.Contains(word.Substring(i, length)))
            {
                i += length;
                continue;
            }
            if (i > start)
                ids.AddRange(_bpe.EncodeToIds(word.AsSpan(start, i - start), considerPreTokenization: false, considerNormalization: false));
            FallBack(rune, ids);
            i += length;
            start = i;
        }
        if (i > start)
            ids.AddRange(_bpe.EncodeToIds(word.AsSpan(start, i - start), considerPreTokenization: false, considerNormalization: false));
    }

    private void FallBack(Rune rune, List<int> ids)
    {
        Span<byte> bytes = stackalloc byte[4];
        var count = rune.EncodeToUtf8(bytes);
        var all = true;
        for (var b = 0; b < count; b++)
            all &= _byteIds[bytes[b]] >= 0;
        if (all)
        {
            for (var b = 0; b < count; b++)
                ids.Add(_byteIds[bytes[b]]);
            return;
        }
        if (_unknownId is not int unknown)
            throw new InvalidOperationException($"U+{rune.Value:X4} is not in the vocabulary, which has neither its bytes nor an unknown token.");
        if (!(_fuseUnknown && ids.Count > 0 && ids[^1] == unknown))
            ids.Add(unknown);
    }

    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (_bytesById.TryGetValue(id, out var b))
                bytes.Add(b);
            else if (_addedById.TryGetValue(id, out var content))
                bytes.AddRange(Encoding.UTF8.GetBytes(content));
            else if ((uint)id < (uint)_spellings.Length && _spellings[id] is { } spelling)
                bytes.AddRange(Encoding.UTF8.GetBytes(spelling.Replace(Space, ' ')));
        }
        var text = Encoding.UTF8.GetString(bytes.ToArray());
        // The prepended "▁" decodes to a space that was not in the text (Hugging Face's Strip / Metaspace decoder).
        return _prepend != SpacePrepend.Never && text.StartsWith(' ') ? text[1..] : text;
    }

    public string Spelling(int id) => _spellings[id];

    public byte[] TokenBytes(int id) =>
        _bytesById.TryGetValue(id, out var b) ? [b]
        : _addedById.TryGetValue(id, out var content) ? Encoding.UTF8.GetBytes(content)
        : (uint)id < (uint)_spellings.Length && _spellings[id] is { } spelling ? Encoding.UTF8.GetBytes(spelling.Replace(Space, ' '))
        : [];
}
