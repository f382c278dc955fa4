using Afm.Core.Diagnostics;
using PieceType = Afm.Tokenizers.SentencePieceModelReader.PieceType;

namespace Afm.Tokenizers;

/// <summary>
/// A SentencePiece BPE tokenizer.model (Llama-2 style; the checkpoints without a tokenizer.json) turned into the same
/// model a Llama-2 tokenizer.json gives: merges derived from the piece scores as Hugging Face's converter derives them
/// (every split of a piece into two pieces, best score first, then by the parts' ids), "▁" prepended to every stretch
/// between added tokens (the dummy prefix), byte fallback to the &lt;0xXX&gt; pieces.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers' LlamaTokenizer reads this file too, but breaks ties between equally scored pairs to the
/// right where SentencePiece (and Hugging Face) merge the leftmost: "   end" gave "▁ ▁▁ e n d" instead of "▁▁ ▁e n d"
/// in a test. So the file is read here and merged by the same path as tokenizer.json.
/// </remarks>
internal static class SentencePieceModelLoader
{
    public static AfmTokenizer Load(string path, TokenizerConfig config, SourceLocation at)
    {
        var bytes = TokenizerFileInput.ReadBytes(path, at);
        SentencePieceModelReader model;
        try
        {
            model = SentencePieceModelReader.Read(bytes);
        }
        catch (InvalidDataException e)
        {
            throw Error(TokenizerDiagnostics.MalformedTokenizerFile, $"is not a SentencePiece model: {e.Message}");
        }
        if (model.Pieces.Count == 0)
            throw Error(TokenizerDiagnostics.MalformedTokenizerFile, "is not a SentencePiece model: it has no pieces");
        if (model.ModelType != SentencePieceModelReader.BpeModelType)
            throw Error(TokenizerDiagnostics.UnsupportedTokenizerModel, $"is a SentencePiece model of type {(model.ModelType == 1 ? "unigram" : model.ModelType.ToString())}; only BPE is supported");
        if (model.HasCharsMap || model.RemoveExtraWhitespaces || !model.EscapeWhitespaces)
            throw Error(TokenizerDiagnostics.UnsupportedTokenizerPipeline, "normalizes text (a precompiled character map, removing extra whitespace, or spaces not escaped as \"▁\"); only the identity normalizer of Llama-2's model is supported");

        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < model.Pieces.Count; id++)
        {
            if (!vocabulary.TryAdd(model.Pieces[id].Piece, id))
                throw Error(TokenizerDiagnostics.MalformedTokenizerFile, $"holds the piece \"{model.Pieces[id].Piece}\" twice");
        }
        var added = model.Pieces.Select((p, id) => (p, id))
            .Where(x => x.p.Type is PieceType.Control or PieceType.Unknown or PieceType.UserDefined)
            .Select(x => new AddedToken(x.id, x.p.Piece, Special: x.p.Type != PieceType.UserDefined))
            .Concat(config.AddedTokens.Where(t => vocabulary.TryGetValue(t.Content, out var id) && id == t.Id))
            .DistinctBy(t => t.Id).OrderBy(t => t.Id).ToList();
        int? unknown = model.Pieces.FindIndex(p => p.Type == PieceType.Unknown) is var u and >= 0 ? u : null;
        var byteFallback = model.ByteFallback && model.Pieces.Any(p => p.Type == PieceType.Byte);
        if (!byteFallback && unknown is null)
            throw Error(TokenizerDiagnostics.UnsupportedTokenizerModel, "has neither byte fallback nor an unknown piece, so a character outside the vocabulary has no token");

        var tokenModel = new SentencePieceBpeModel(vocabulary, Merges(model, vocabulary),
            added.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal), unknown, byteFallback, fuseUnknown: true,
            model.AddDummyPrefix ? SpacePrepend.EveryStretch : SpacePrepend.Never, splitAtSpace: false);
        var roles = HuggingFaceTokenizerReader.Roles(config, t => vocabulary.TryGetValue(t, out var id) ? id : null,
            templateBos: null, unknown, defaultAddBos: true, Path.Combine(Path.GetDirectoryName(path)!, HuggingFaceFiles.TokenizerConfigJson), at);
        int? Valid(int id) => id >= 0 && id < model.Pieces.Count ? id : null;
        roles = roles with
        {
            BeginOfSequence = roles.BeginOfSequence ?? Valid(model.BosId),
            EndOfSequence = roles.EndOfSequence ?? Valid(model.EosId),
        };
        roles = roles with { AddBeginOfSequence = (config.AddBosToken ?? true) && roles.BeginOfSequence is not null };
        return new AfmTokenizer(tokenModel, added, roles, manifest: null, config.ChatTemplate) { SourceDirectory = Path.GetDirectoryName(Path.GetFullPath(path)) };

        DiagnosticException Error(string code, string what) => TokenizerDiagnostics.Error(code, $"{path} {what}.", at);
    }

    /// <summary>Every way to split a normal piece into two pieces, ordered by the piece's score (best first), then by the parts' ids.</summary>
    private static List<(string Left, string Right)> Merges(SentencePieceModelReader model, Dictionary<string, int> vocabulary)
    {
        var merges = new List<(string Left, string Right, float Score, int LeftId, int RightId, int Order)>();
        foreach (var (piece, score, type) in model.Pieces)
        {
            if (type != PieceType.Normal)
                continue;
            for (var k = 1; k < piece.Length; k++)
            {
                if (char.IsLowSurrogate(piece[k]))
                    continue; // never split a code point
                if (vocabulary.TryGetValue(piece[..k], out var left) && vocabulary.TryGetValue(piece[k..], out var right)
                    && model.Pieces[left].Type == PieceType.Normal && model.Pieces[right].Type == PieceType.Normal)
                    merges.Add((piece[..k], piece[k..], score, left, right, merges.Count));
            }
        }
        return merges.OrderByDescending(m => m.Score).ThenBy(m => m.LeftId).ThenBy(m => m.RightId)
            .Select(m => (m.Left, m.Right)).ToList();
    }
}
