using Afm.Core.Diagnostics;

namespace Afm.Tokenizers;

/// <summary>
/// The diagnostics of loading a tokenizer from files a user supplies (a checkpoint's tokenizer.json, tokenizer.model,
/// tokenizer_config.json), listed in specs/diagnostics.md. The caller gives the location (e.g. the BaseModel item);
/// the message names the file and the JSON path.
/// </summary>
public static class TokenizerDiagnostics
{
    /// <summary>The folder has neither tokenizer.json nor tokenizer.model.</summary>
    public const string TokenizerFileMissing = "AFM1650";

    /// <summary>A tokenizer file is not what its format says: invalid JSON, a missing or mistyped field, an id out of range or twice.</summary>
    public const string MalformedTokenizerFile = "AFM1651";

    /// <summary>The tokenizer.json model is not BPE (WordPiece, Unigram, WordLevel) or uses a BPE option the toolchain does not implement.</summary>
    public const string UnsupportedTokenizerModel = "AFM1652";

    /// <summary>A normalizer, pre-tokenizer or decoder the toolchain does not implement, or a combination of them that is neither byte-level nor SentencePiece-style.</summary>
    public const string UnsupportedTokenizerPipeline = "AFM1653";

    /// <summary>An added token with options the toolchain does not implement (lstrip, rstrip, single_word, normalized with a normalizer).</summary>
    public const string UnsupportedAddedToken = "AFM1654";

    /// <summary>tokenizer_config.json is not valid, or names a special token (bos, eos, pad, unk) that is not in the vocabulary.</summary>
    public const string MalformedTokenizerConfig = "AFM1655";

    /// <summary>A tokenizer file is larger than the toolchain reads (256 MiB): a real one is a few tens of MB at most.</summary>
    public const string TokenizerFileTooLarge = "AFM1656";

    /// <summary>The checkpoint's chat_template does not render a fixed conversation with afm serve's renderer (a warning: completions still work).</summary>
    public const string ChatTemplateUnrenderable = "AFM1657";

    internal static DiagnosticException Error(string code, string message, SourceLocation location) =>
        new(new Diagnostic(DiagnosticSeverity.Error, code, message, location));
}
