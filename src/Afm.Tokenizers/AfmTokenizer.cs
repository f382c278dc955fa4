using System.Text;
using Afm.Core.Diagnostics;

namespace Afm.Tokenizers;

/// <summary>
/// The one tokenizer the data stage, the runtime and the exporters use, whatever its kind: one trained here (a folder
/// written by <see cref="TokenizerFolder"/>) or one imported from a Hugging Face checkpoint (<see cref="HuggingFaceTokenizerReader"/>).
/// Added tokens written literally in the text (e.g. "&lt;|endoftext|&gt;") encode as themselves, leftmost and longest
/// first, as in Hugging Face tokenizers; the text between them goes to the kind's model (<see cref="TokenizerKind"/>).
/// </summary>
/// <remarks>
/// Corpora that must contain such strings as plain text need escaping before the data stage.
/// </remarks>
public sealed class AfmTokenizer
{
    private readonly ITokenModel _model;
    private readonly SpecialTokenMatcher _matcher;
    private readonly int[] _addedIds; // by the matcher's token index

    internal AfmTokenizer(ITokenModel model, IReadOnlyList<AddedToken> addedTokens, SpecialTokenRoles roles,
        TokenizerManifest? manifest = null, string? chatTemplate = null, int reservedCount = 0)
    {
        _model = model;
        AddedTokens = addedTokens;
        _matcher = new SpecialTokenMatcher(addedTokens.Select(t => t.Content));
        var idByContent = addedTokens.GroupBy(t => t.Content, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
        _addedIds = _matcher.Tokens.Select(t => idByContent[t]).ToArray();
        Roles = roles;
        Manifest = manifest;
        ChatTemplate = chatTemplate;
        ReservedCount = reservedCount;
        MaxTokenBytes = Math.Max(model.MaxTokenBytes, addedTokens.Select(t => Encoding.UTF8.GetByteCount(t.Content)).DefaultIfEmpty(1).Max());
    }

    public TokenizerKind Kind => _model.Kind;

    /// <summary>The manifest of a tokenizer trained here; null for an imported one.</summary>
    public TokenizerManifest? Manifest { get; }

    public bool IsTrainedHere => Manifest is not null;

    /// <summary>Every id the tokenizer defines (added and reserved tokens included).</summary>
    public int VocabSize => _model.VocabSize;

    /// <summary>Tokens matched literally in text, in id order: a trained tokenizer's special tokens, a checkpoint's added tokens.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    public SpecialTokenRoles Roles { get; }

    /// <summary>The token that ends a document (and generation): id 0 for a tokenizer trained here, the eos token of a checkpoint.</summary>
    public int EndOfDocumentId => Roles.EndOfSequence ?? throw new InvalidOperationException("The tokenizer has no end-of-sequence token.");

    /// <summary>
    /// The chat template (a Jinja template), carried as text: the folder's chat_template.jinja (<see cref="ChatTemplateFile"/>),
    /// else a checkpoint's tokenizer_config.json <c>chat_template</c>; null if none.
    /// </summary>
    public string? ChatTemplate { get; }

    /// <summary>Unused tokens at the end of the vocabulary (a trained tokenizer's &lt;|reserved_k|&gt; padding).</summary>
    public int ReservedCount { get; }

    /// <summary>
    /// The reserved tokens that pad the vocabulary to its declared size: by the id layout (<see cref="TokenizerManifest"/>)
    /// the last <see cref="ReservedCount"/> ids. Encoding never produces them, so no training sequence contains them;
    /// special tokens (the project's included) are never among them. Empty for an imported tokenizer.
    /// </summary>
    public Range ReservedIds => (VocabSize - ReservedCount)..VocabSize;

    /// <summary>The most UTF-8 bytes one token stands for: a prompt of B bytes has at least B / this many tokens.</summary>
    public int MaxTokenBytes { get; }

    /// <summary>Token <paramref name="id"/> as the vocabulary spells it (byte-level characters for byte-level BPE).</summary>
    public string Spelling(int id) => _model.Spelling(id);

    /// <summary>The pre-tokenizer regexes a byte-level BPE applies in turn (one for a tokenizer trained here); empty otherwise.</summary>
    public IReadOnlyList<string> PreTokenizerPatterns => _model.PreTokenizerPatterns;

    /// <summary>The merges in rank order, spelled as the vocabulary spells tokens (byte-level BPE).</summary>
    public IReadOnlyList<(string Left, string Right)> Merges => _model.Merges;

    /// <summary>The folder an imported tokenizer was read from (its files are exported as they are); null for one trained here.</summary>
    public string? SourceDirectory { get; init; }

    internal ITokenModel Model => _model;

    /// <summary>The ids of <paramref name="text"/>, without a beginning-of-sequence token.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 1);
        foreach (var (offset, length, token) in _matcher.Split(text))
        {
            if (token >= 0)
                ids.Add(_addedIds[token]);
            else
                _model.Encode(offset == 0 && length == text.Length ? text : text.Substring(offset, length), atStart: offset == 0, ids);
        }
        return ids;
    }

    /// <summary>The ids a sequence (a prompt) starts with: the beginning-of-sequence token when the tokenizer adds one, then <see cref="Encode"/>.</summary>
    public IReadOnlyList<int> EncodeSequence(string text) =>
        Roles is { AddBeginOfSequence: true, BeginOfSequence: int bos } ? [bos, .. Encode(text)] : Encode(text);

    public string Decode(IEnumerable<int> ids) => _model.Decode(ids);

    /// <summary>
    /// The bytes token <paramref name="id"/> stands for on its own: an added token's content, else the vocabulary's bytes
    /// (possibly part of a UTF-8 sequence). Empty for an id outside the vocabulary.
    /// </summary>
    public byte[] TokenBytes(int id)
    {
        if ((uint)id >= (uint)VocabSize) return [];
        foreach (var added in AddedTokens)
            if (added.Id == id) return Encoding.UTF8.GetBytes(added.Content);
        return _model.TokenBytes(id);
    }

    /// <summary>
    /// Loads the tokenizer of <paramref name="directory"/>: the folder of a tokenizer trained here (our manifest) or a
    /// Hugging Face one (tokenizer.json with a model, or tokenizer.model; tokenizer_config.json when present). Errors
    /// are located at the file at fault.
    /// </summary>
    public static AfmTokenizer Load(string directory) =>
        TokenizerFolder.IsTrainedHere(directory)
            ? TokenizerFolder.Read(directory)
            : HuggingFaceTokenizerReader.Read(directory, location: null);

    /// <summary>Loads a checkpoint's Hugging Face tokenizer; every problem is a <see cref="DiagnosticException"/> at <paramref name="location"/>.</summary>
    public static AfmTokenizer LoadHuggingFace(string directory, SourceLocation location) =>
        HuggingFaceTokenizerReader.Read(directory, location);
}
