namespace Afm.Core.Spec;

/// <summary>
/// The checkpoint a project starts from (specs/afmproj.md, BaseModel): a folder in another stack's layout (today the
/// Hugging Face one). The architecture and the tokenizer come from it; TrainingStage items continue from its weights;
/// without a TrainingStage the train stage converts it as it is. Its files, with their hashes, are part of the spec, so
/// a changed checkpoint changes every stage that depends on it and the artifact records what it was built from.
/// </summary>
public sealed record BaseModelSpec
{
    /// <summary>The checkpoint folder, absolute (the artifact's spec.json records it relative to the project).</summary>
    public required string Folder { get; init; }
    /// <summary>The layout's name: "huggingface".</summary>
    public required string Format { get; init; }
    /// <summary>The checkpoint's own name for its architecture (config.json's <c>architectures[0]</c>, e.g. Qwen3ForCausalLM).</summary>
    public required string Architecture { get; init; }
    /// <summary>Every file of the checkpoint the toolchain reads, relative to <see cref="Folder"/>, sorted ordinally.</summary>
    public required IReadOnlyList<BaseModelFile> Files { get; init; }
    /// <summary>The beginning-of-sequence token id the checkpoint declares (generation_config.json, else config.json), or null.</summary>
    public int? BosTokenId { get; init; }
    /// <summary>The end-of-sequence token ids the checkpoint declares (generation_config.json, else config.json); generation stops at any.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public Diagnostics.SourceLocation? Location { get; init; }
}

/// <summary>One file of a base model: its path relative to the checkpoint folder, size and SHA-256.</summary>
public sealed record BaseModelFile(string Path, long Size, string Sha256);

/// <summary>What a reader of a checkpoint layout finds in a base model folder (before its files are hashed).</summary>
public sealed record BaseModelDescription
{
    public required string Format { get; init; }
    public required string Architecture { get; init; }
    public required ArchitectureSpec Spec { get; init; }
    /// <summary>The files the toolchain reads (absolute), weights included.</summary>
    public required IReadOnlyList<string> Files { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
}

/// <summary>
/// Reads a base model folder in one stack's layout. Afm.Core knows no layout; the compiler passes Afm.Interchange's
/// reader to <see cref="ProjectSpecReader"/>, which locates every problem it reports at the BaseModel element.
/// </summary>
public interface IBaseModelFormat
{
    /// <exception cref="BaseModelException">The folder is not a checkpoint this toolchain can use; the code and message say why.</exception>
    BaseModelDescription Describe(string folder);
}

/// <summary>A base model that cannot be used, with the stable code of why (AFM16xx, specs/diagnostics.md).</summary>
public sealed class BaseModelException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
