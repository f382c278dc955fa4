using System.Text;
using System.Text.Json.Nodes;

namespace Afm.Tokenizers.Tests;

/// <summary>
/// Small tokenizer.json files written from the format's rules (not by the code under test): vocabularies and merges
/// built here, pipelines spelled as Qwen2's and Llama-2's / Mistral's files spell them.
/// </summary>
public static class HandWrittenTokenizers
{
    /// <summary>Qwen2's pre-tokenizer regex exactly as its tokenizer.json holds it.</summary>
    public const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Words whose every prefix is merged, left to right, so these words (and their prefixes) become single tokens.</summary>
    private static readonly string[] ByteLevelWords =
        ["e𝔘𝔫", "𝟙𝟚", " the", "the", " and", " world", "Hello", "ing", " par", "agraph", " 中文", "字符", " 日本", "语", " emoji", "🙂", " caf", "é", "  ", "\n\n", " spaces", "'s", "ll", "THEY"];

    /// <summary>A Qwen2-style byte-level BPE: NFC, Split(Qwen2 regex) + ByteLevel, ranked merges, special and plain added tokens.</summary>
    public static JsonObject Qwen2Style(bool arrayMerges = false, bool ignoreMerges = false)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var b = 0; b < 256; b++)
            vocab[Gpt2Bytes.Spell((byte)b)] = b;
        var merges = new List<(string, string)>();
        foreach (var word in ByteLevelWords)
        {
            var symbols = Encoding.UTF8.GetBytes(word).Select(Gpt2Bytes.Spell).ToList();
            var current = symbols[0];
            foreach (var next in symbols.Skip(1))
            {
                if (!vocab.ContainsKey(current + next))
                {
                    merges.Add((current, next));
                    vocab[current + next] = vocab.Count;
                }
                current += next;
            }
        }
        string[] added = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|im_start|>system"];
        var addedTokens = new JsonArray();
        foreach (var token in added)
        {
            addedTokens.Add(AddedToken(vocab.Count, token, special: true));
            vocab[token] = vocab.Count;
        }
        addedTokens.Add(AddedToken(vocab.Count, "[[user]]", special: false));
        vocab["[[user]]"] = vocab.Count;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = addedTokens,
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Qwen2Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false },
            ["model"] = Bpe(vocab, merges, arrayMerges, byteFallback: false, unk: null, ignoreMerges),
        };
    }

    /// <summary>Qwen2's tokenizer_config.json shape: no bos, eos and pad named, a chat template.</summary>
    public static JsonObject Qwen2Config() => new()
    {
        ["add_prefix_space"] = false,
        ["bos_token"] = null,
        ["eos_token"] = "<|im_end|>",
        ["pad_token"] = "<|endoftext|>",
        ["chat_template"] = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}",
        ["tokenizer_class"] = "Qwen2Tokenizer",
    };

    private static readonly string[] SentencePieceWords = ["▁the", "▁and", "▁Hello", "▁world", "ing", "▁par", "agraph", "▁中", "▁▁", "▁em", "oji", "▁caf", "'s", "ll"];

    /// <summary>
    /// A Llama-2-style SentencePiece BPE: &lt;unk&gt; &lt;s&gt; &lt;/s&gt;, the 256 byte tokens, "▁", ASCII letters and digits and a
    /// few other characters (most CJK and every emoji are not, so they fall back to bytes), ranked merges. With
    /// <paramref name="metaspace"/> it is spelled as Mistral's newer files are (Metaspace pre-tokenizer, prepend "first"),
    /// else as Llama-2's (Prepend + Replace normalizer).
    /// </summary>
    public static JsonObject LlamaStyle(bool metaspace)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal) { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (var b = 0; b < 256; b++)
            vocab[$"<0x{b:X2}>"] = vocab.Count;
        foreach (var c in "▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;!?'-中é")
            vocab.TryAdd(c.ToString(), vocab.Count);
        var merges = new List<(string, string)>();
        foreach (var word in SentencePieceWords)
        {
            var current = word[..1];
            foreach (var next in word.Skip(1).Select(c => c.ToString()))
            {
                if (!vocab.ContainsKey(current + next))
                {
                    merges.Add((current, next));
                    vocab[current + next] = vocab.Count;
                }
                current += next;
            }
        }
        var addedTokens = new JsonArray(AddedToken(0, "<unk>", true), AddedToken(1, "<s>", true), AddedToken(2, "</s>", true));
        var decoder = metaspace
            ? new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false }
            : new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = addedTokens,
            ["normalizer"] = metaspace ? null : new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
            },
            ["pre_tokenizer"] = metaspace ? new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false } : null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } }),
                ["special_tokens"] = new JsonObject
                {
                    ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") },
                },
            },
            ["decoder"] = decoder,
            ["model"] = Bpe(vocab, merges, arrayMerges: false, byteFallback: true, unk: "<unk>", ignoreMerges: false),
        };
    }

    public static JsonObject LlamaConfig() => new()
    {
        ["add_bos_token"] = true,
        ["add_eos_token"] = false,
        ["bos_token"] = new JsonObject { ["__type"] = "AddedToken", ["content"] = "<s>", ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false },
        ["eos_token"] = "</s>",
        ["unk_token"] = "<unk>",
        ["pad_token"] = null,
        ["tokenizer_class"] = "LlamaTokenizer",
    };

    private static JsonObject Bpe(Dictionary<string, int> vocab, List<(string Left, string Right)> merges, bool arrayMerges, bool byteFallback, string? unk, bool ignoreMerges)
    {
        var vocabJson = new JsonObject();
        foreach (var (token, id) in vocab.OrderBy(p => p.Value))
            vocabJson[token] = id;
        return new JsonObject
        {
            ["type"] = "BPE",
            ["dropout"] = null,
            ["unk_token"] = unk,
            ["continuing_subword_prefix"] = null,
            ["end_of_word_suffix"] = null,
            ["fuse_unk"] = byteFallback,
            ["byte_fallback"] = byteFallback,
            ["ignore_merges"] = ignoreMerges,
            ["vocab"] = vocabJson,
            ["merges"] = new JsonArray(merges.Select(m => arrayMerges ? (JsonNode)new JsonArray(m.Left, m.Right) : m.Left + " " + m.Right).ToArray()),
        };
    }

    private static JsonObject AddedToken(int id, string content, bool special) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
        ["normalized"] = false, ["special"] = special,
    };
}
