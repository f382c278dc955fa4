using System.Text;
using Afm.Core.Diagnostics;
using Microsoft.ML.Tokenizers;

namespace Afm.Tokenizers;

/// <summary>
/// A SentencePiece BPE model file (tokenizer.model, Llama-2 style) run by Microsoft.ML.Tokenizers' SentencePieceTokenizer:
/// the checkpoints without a tokenizer.json. Its normalizer prepends "▁" to every stretch it is given, as Hugging Face's
/// slow (legacy) Llama tokenizer does between added tokens.
/// </summary>
internal sealed class SentencePieceProtoModel : ITokenModel
{
    private readonly SentencePieceTokenizer _tokenizer;
    private readonly string[] _spellings;

    private SentencePieceProtoModel(SentencePieceTokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        _spellings = new string[tokenizer.Vocabulary.Values.Max() + 1];
        foreach (var (piece, id) in tokenizer.Vocabulary)
            _spellings[id] = piece;
        MaxTokenBytes = Math.Max(4, tokenizer.Vocabulary.Keys.Max(Encoding.UTF8.GetByteCount));
    }

    public TokenizerKind Kind => TokenizerKind.SentencePieceBpe;
    public int VocabSize => _spellings.Length;
    public int MaxTokenBytes { get; }

    public void Encode(string text, bool atStart, List<int> ids) =>
        ids.AddRange(_tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: false, considerNormalization: true));

    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids, considerSpecialTokens: true);

    public string Spelling(int id) => _spellings[id] ?? "";

    public static AfmTokenizer Load(string path, TokenizerConfig config, SourceLocation at)
    {
        var length = new FileInfo(path).Length;
        if (length > JsonInput.MaxBytes)
            throw TokenizerDiagnostics.Error(TokenizerDiagnostics.TokenizerFileTooLarge, $"{path} is {length >> 20} MiB; the toolchain reads tokenizer files of at most {JsonInput.MaxBytes >> 20} MiB.", at);
        SentencePieceTokenizer tokenizer;
        try
        {
            using var stream = File.OpenRead(path);
            tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The library reports a bad protobuf or a Unigram/char model in its own words; the user needs the file and why.
            throw TokenizerDiagnostics.Error(TokenizerDiagnostics.MalformedTokenizerFile, $"{path} is not a SentencePiece BPE model Microsoft.ML.Tokenizers can load: {e.Message}", at);
        }
        var model = new SentencePieceProtoModel(tokenizer);
        var added = config.AddedTokens.Where(t => t.Id < model.VocabSize && model.Spelling(t.Id) == t.Content).OrderBy(t => t.Id).ToList();
        var roles = HuggingFaceTokenizerReader.Roles(config, t => tokenizer.Vocabulary.TryGetValue(t, out var id) ? id : null,
            templateBos: null, unknown: tokenizer.UnknownId, defaultAddBos: true,
            Path.Combine(Path.GetDirectoryName(path)!, HuggingFaceFiles.TokenizerConfigJson), at);
        roles = roles with
        {
            BeginOfSequence = roles.BeginOfSequence ?? tokenizer.BeginningOfSentenceId,
            EndOfSequence = roles.EndOfSequence ?? tokenizer.EndOfSentenceId,
            AddBeginOfSequence = config.AddBosToken ?? true,
        };
        return new AfmTokenizer(model, added, roles, manifest: null, config.ChatTemplate) { SourceDirectory = Path.GetDirectoryName(Path.GetFullPath(path)) };
    }
}
