using Afm.Core.IO;
using Microsoft.ML.Tokenizers;

namespace Afm.Tokenizers;

/// <summary>
/// A tokenizer directory written by <see cref="BpeVocabulary.Save"/>, loaded into Microsoft.ML.Tokenizers'
/// byte-level <see cref="BpeTokenizer"/>: our vocabulary, their runtime. Lossless for any valid UTF-16 text.
/// </summary>
/// <remarks>
/// Special tokens written literally in the text (e.g. "&lt;|endoftext|&gt;") encode as the special token, as in
/// GPT-2; corpora that must contain such strings as plain text need escaping before the data stage.
/// </remarks>
public sealed class AfmTokenizer
{
    private AfmTokenizer(BpeTokenizer inner, TokenizerManifest manifest)
    {
        Inner = inner;
        Manifest = manifest;
    }

    /// <summary>The Microsoft.ML.Tokenizers instance, for code (e.g. the runtime) that wants its full API.</summary>
    public Tokenizer Inner { get; }
    public TokenizerManifest Manifest { get; }
    public int VocabSize => Manifest.VocabSize;
    public int EndOfDocumentId => Manifest.EndOfDocumentId;
    /// <summary>
    /// The reserved tokens that pad the vocabulary to its declared size: by the id layout (<see cref="BpeVocabulary"/>)
    /// the last <see cref="TokenizerManifest.ReservedCount"/> ids. Encoding never produces them, so no training
    /// sequence contains them; special tokens (the project's included) are never among them.
    /// </summary>
    public Range ReservedIds => (Manifest.VocabSize - Manifest.ReservedCount)..Manifest.VocabSize;

    public static AfmTokenizer Load(string directory)
    {
        var manifestPath = Path.Combine(directory, TokenizerManifest.FileName);
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"No tokenizer in {directory}: {TokenizerManifest.FileName} is missing.", manifestPath);
        var manifest = JsonFiles.Read<TokenizerManifest>(manifestPath);
        if (manifest.FormatVersion != TokenizerManifest.CurrentFormatVersion)
            throw new InvalidDataException($"{manifestPath}: format version {manifest.FormatVersion} is not {TokenizerManifest.CurrentFormatVersion}.");
        // Reserved ids come after the special and byte tokens; a count reaching into them would mark learned ids unusable.
        if (manifest.ReservedCount < 0 || manifest.ReservedCount > manifest.VocabSize - manifest.FirstByteId - 256)
            throw new InvalidDataException($"{manifestPath}: reserved count {manifest.ReservedCount} does not fit a vocabulary of {manifest.VocabSize} with {manifest.FirstByteId} special tokens.");

        var specials = manifest.SpecialTokens.Select((token, id) => (token, id)).ToDictionary(p => p.token, p => p.id, StringComparer.Ordinal);
        var options = new BpeOptions(Path.Combine(directory, manifest.VocabFile), Path.Combine(directory, manifest.MergesFile))
        {
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(PreTokenization.CreateRegex(manifest.PreTokenizerPattern), specials),
        };
        return new AfmTokenizer(BpeTokenizer.Create(options), manifest);
    }

    public IReadOnlyList<int> Encode(string text) => Inner.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids) => Inner.Decode(ids);
}
