namespace Afm.Tokenizers;

/// <summary>
/// The split of text into words before BPE for tokenizers trained here, shared by training (Afm.Data's <c>BpeTrainer</c>)
/// and encoding (<see cref="AfmTokenizer"/>): merges never cross a word boundary, so trainer and runtime must agree on it
/// exactly, and so must every runtime the tokenizer is exported to.
/// </summary>
/// <remarks>
/// llama.cpp cannot run an arbitrary pattern: it picks one of its built-in pre-tokenizers by the GGUF key
/// <c>tokenizer.ggml.pre</c>, and ONNX Runtime GenAI (onnxruntime-extensions) recognizes a tokenizer.json Split regex only
/// when it is made of alternatives it implements. So the patterns are standard ones, character for character:
/// <list type="bullet">
/// <item>split digits: Qwen2's pattern in the case-explicit spelling llama.cpp runs for <c>qwen2</c> (its
/// <c>(?:'[sS]|...)</c> is Qwen2's <c>(?i:'s|...)</c> without Unicode case folding, so every engine reads it alike);
/// onnxruntime-extensions implements each of its alternatives;</item>
/// <item>whole numbers: GPT-2's pattern (llama.cpp <c>gpt2</c>).</item>
/// </list>
/// Both split letters from combining marks ("e\u0301" is "e" then "\u0301"), which changes nothing for round trips.
/// </remarks>
public static class PreTokenization
{
    /// <summary>Qwen2's pattern: a digit is a word of its own; a letter run takes one preceding non-letter (a space, a quote).</summary>
    public const string SplitDigitsPattern =
        @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>GPT-2's pattern: contractions, letter runs, number runs and symbol runs each with an optional leading space.</summary>
    public const string WholeNumbersPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static string Pattern(bool splitDigits) => splitDigits ? SplitDigitsPattern : WholeNumbersPattern;

    /// <summary>llama.cpp's name (<c>tokenizer.ggml.pre</c>) for the pre-tokenizer that runs <paramref name="pattern"/>, or null.</summary>
    public static string? LlamaCppName(string pattern) => pattern switch
    {
        SplitDigitsPattern => "qwen2",
        WholeNumbersPattern => "gpt2",
        _ => null,
    };

    /// <summary>
    /// Cuts <paramref name="text"/> at occurrences of special tokens and yields the ordinary pieces in between:
    /// special tokens in training text are not learned from.
    /// </summary>
    public static IEnumerable<string> OrdinarySegments(string text, SpecialTokenMatcher specialTokens) =>
        specialTokens.Split(text).Where(p => p.Token < 0).Select(p => p.Offset == 0 && p.Length == text.Length ? text : text.Substring(p.Offset, p.Length));
}
