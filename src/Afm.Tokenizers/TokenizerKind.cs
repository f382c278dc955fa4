namespace Afm.Tokenizers;

/// <summary>The tokenizers a model can have.</summary>
public enum TokenizerKind
{
    /// <summary>Byte-level BPE (GPT-2, Qwen2/3, Llama-3, and every tokenizer trained here): text becomes UTF-8 bytes, each
    /// spelled as one character, split by a regex into words, merged by ranked merges.</summary>
    ByteLevelBpe,

    /// <summary>SentencePiece-style BPE (Llama-2, Mistral, OpenELM): spaces become "▁", a "▁" is prepended, characters merge by
    /// ranked merges, and a character missing from the vocabulary falls back to its UTF-8 bytes as &lt;0xXX&gt; tokens.</summary>
    SentencePieceBpe,
}

/// <summary>A token that is matched literally in text before anything else (Hugging Face's added tokens).</summary>
/// <param name="Special">Marked special: a control token (bos, eos, chat markers) rather than user-defined text.</param>
public sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>
/// The ids with a role, and whether a sequence starts with the beginning-of-sequence token. A tokenizer trained here has
/// one token for all roles: &lt;|endoftext|&gt; (id 0) separates documents in training, so a prompt starts with it too.
/// </summary>
public sealed record SpecialTokenRoles(int? BeginOfSequence, int? EndOfSequence, int? Padding, int? Unknown, bool AddBeginOfSequence);
