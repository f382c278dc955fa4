namespace Afm.Tokenizers;

/// <summary>
/// The names of Hugging Face's tokenizer files and of the keys and type names inside them, used by both the reader
/// (<see cref="HuggingFaceTokenizerReader"/>) and the writer (<see cref="HuggingFaceTokenizerWriter"/>), so the two cannot
/// spell a key differently.
/// </summary>
public static class HuggingFaceFiles
{
    public const string TokenizerJson = "tokenizer.json";
    public const string TokenizerConfigJson = "tokenizer_config.json";
    public const string SentencePieceModel = "tokenizer.model";
    /// <summary>The chat template as a file of its own (<see cref="ChatTemplateFile"/>).</summary>
    public const string ChatTemplateJinja = "chat_template.jinja";

    // tokenizer.json
    internal const string Version = "version", Truncation = "truncation", Padding = "padding", AddedTokens = "added_tokens",
        Normalizer = "normalizer", PreTokenizer = "pre_tokenizer", PostProcessor = "post_processor", Decoder = "decoder", Model = "model";
    internal const string Type = "type", Vocab = "vocab", Merges = "merges", Dropout = "dropout", UnkToken = "unk_token",
        ContinuingSubwordPrefix = "continuing_subword_prefix", EndOfWordSuffix = "end_of_word_suffix", FuseUnk = "fuse_unk",
        ByteFallback = "byte_fallback", IgnoreMerges = "ignore_merges";
    internal const string Id = "id", Content = "content", SingleWord = "single_word", LStrip = "lstrip", RStrip = "rstrip",
        Normalized = "normalized", Special = "special";
    internal const string Pattern = "pattern", Regex = "Regex", String = "String", Behavior = "behavior", Invert = "invert",
        Isolated = "Isolated", AddPrefixSpace = "add_prefix_space", TrimOffsets = "trim_offsets", UseRegex = "use_regex",
        PreTokenizers = "pretokenizers", Normalizers = "normalizers", Decoders = "decoders", Processors = "processors",
        Prepend = "prepend", Replacement = "replacement", PrependScheme = "prepend_scheme", Split = "split",
        Single = "single", Pair = "pair", SpecialToken = "SpecialToken", Sequence = "Sequence", SpecialTokens = "special_tokens",
        TypeId = "type_id", Ids = "ids", Tokens = "tokens";
    internal const string BpeType = "BPE", ByteLevelType = "ByteLevel", SplitType = "Split", SequenceType = "Sequence",
        NfcType = "NFC", PrependType = "Prepend", ReplaceType = "Replace", MetaspaceType = "Metaspace",
        TemplateProcessingType = "TemplateProcessing", ByteFallbackType = "ByteFallback", FuseType = "Fuse", StripType = "Strip";

    // tokenizer_config.json
    internal const string BosToken = "bos_token", EosToken = "eos_token", PadToken = "pad_token", UnkTokenConfig = "unk_token",
        AddBosToken = "add_bos_token", AddEosToken = "add_eos_token", ChatTemplate = "chat_template", TokenizerClass = "tokenizer_class",
        AddedTokensDecoder = "added_tokens_decoder", ModelMaxLength = "model_max_length", CleanUpTokenizationSpaces = "clean_up_tokenization_spaces",
        Name = "name", Template = "template";
}
