namespace Afm.Tokenizers;

/// <summary>
/// Our own description of a tokenizer directory (tokenizer.json), next to the GPT-2 style vocab.json and
/// merges.txt that Microsoft.ML.Tokenizers loads. It carries what those two files cannot say: the
/// pre-tokenizer pattern, which tokens are special, and the options the vocabulary was trained with.
/// It is not a Hugging Face tokenizer.json (the "kind" field says so); the SDK's incremental build keys on this name.
/// </summary>
public sealed record TokenizerManifest
{
    public const int CurrentFormatVersion = 1;
    public const string FileName = Afm.Core.Artifacts.StageLayout.Tokenizer.Manifest;
    public const string VocabFileName = "vocab.json";
    public const string MergesFileName = "merges.txt";

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public string Kind { get; init; } = "byte-level-bpe";
    /// <summary>Always the requested size: learned tokens plus <see cref="ReservedCount"/> reserved ones.</summary>
    public required int VocabSize { get; init; }
    public required bool SplitDigits { get; init; }
    public required bool ByteFallback { get; init; }
    public required string PreTokenizerPattern { get; init; }
    /// <summary>Special tokens in id order: token i has id i.</summary>
    public required IReadOnlyList<string> SpecialTokens { get; init; }
    public required int EndOfDocumentId { get; init; }
    public required int FirstByteId { get; init; }
    public required int MergeCount { get; init; }
    /// <summary>Unused tokens at the end of the vocabulary that pad it to the requested size.</summary>
    public required int ReservedCount { get; init; }
    public string VocabFile { get; init; } = VocabFileName;
    public string MergesFile { get; init; } = MergesFileName;
}
