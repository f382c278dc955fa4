using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Core.IO;
using K = Afm.Tokenizers.HuggingFaceFiles;

namespace Afm.Tokenizers;

/// <summary>
/// Writes a tokenizer in the Hugging Face layout: tokenizer.json and tokenizer_config.json, which Hugging Face tokenizers,
/// transformers and ONNX Runtime GenAI (onnxruntime-extensions) load. A tokenizer trained here is written out from its
/// vocabulary: byte-level BPE, its pre-tokenizer regex as a Split, no normalizer, the special tokens as added tokens,
/// and &lt;|endoftext|&gt; put first in every sequence (bos), as the toolchain's runtime does. An imported tokenizer is its
/// checkpoint's own files, copied as they are.
/// </summary>
public static class HuggingFaceTokenizerWriter
{
    /// <summary>Writes the files into <paramref name="directory"/> (created if needed) under temporary names, then renames them.</summary>
    /// <param name="chatTemplate">A chat template to write as chat_template.jinja (the project's AfmChatTemplate), which
    /// transformers and afm take over tokenizer_config.json's; null: only the tokenizer's own files.</param>
    public static void Write(AfmTokenizer tokenizer, string directory, string? chatTemplate = null)
    {
        Directory.CreateDirectory(directory);
        if (tokenizer.SourceDirectory is { } source)
        {
            // chat_template.jinja too: a checkpoint's template may live there rather than in tokenizer_config.json.
            foreach (var name in new[] { K.TokenizerJson, K.TokenizerConfigJson, K.SentencePieceModel, K.ChatTemplateJinja })
            {
                var from = Path.Combine(source, name);
                if (File.Exists(from))
                    AtomicOutput.WriteAllBytes(Path.Combine(directory, name), File.ReadAllBytes(from));
            }
            WriteChatTemplate(directory, chatTemplate);
            return;
        }
        var tokenizerJson = TokenizerJson(tokenizer);
        var config = TokenizerConfigJson(tokenizer);
        AtomicOutput.WriteAllBytes(Path.Combine(directory, K.TokenizerJson), Serialize(tokenizerJson));
        AtomicOutput.WriteAllBytes(Path.Combine(directory, K.TokenizerConfigJson), Serialize(config));
        WriteChatTemplate(directory, chatTemplate);
    }

    private static void WriteChatTemplate(string directory, string? chatTemplate)
    {
        if (chatTemplate is not null)
            AtomicOutput.WriteAllBytes(Path.Combine(directory, K.ChatTemplateJinja), new System.Text.UTF8Encoding(false).GetBytes(chatTemplate));
    }

    /// <summary>tokenizer.json of a tokenizer trained here.</summary>
    public static JsonObject TokenizerJson(AfmTokenizer tokenizer)
    {
        if (!tokenizer.IsTrainedHere || tokenizer.PreTokenizerPatterns is not [var pattern])
            throw new InvalidOperationException("Only a tokenizer trained here is written from its vocabulary; an imported one is copied.");
        var eod = tokenizer.Spelling(tokenizer.EndOfDocumentId);
        var vocab = new JsonObject();
        for (var id = 0; id < tokenizer.VocabSize; id++)
            vocab[tokenizer.Spelling(id)] = id;
        return new JsonObject
        {
            [K.Version] = "1.0",
            [K.Truncation] = null,
            [K.Padding] = null,
            [K.AddedTokens] = new JsonArray(tokenizer.AddedTokens.Select(t => (JsonNode)AddedTokenJson(t, withId: true)).ToArray()),
            [K.Normalizer] = null,
            [K.PreTokenizer] = new JsonObject
            {
                [K.Type] = K.SequenceType,
                [K.PreTokenizers] = new JsonArray(
                    new JsonObject
                    {
                        [K.Type] = K.SplitType,
                        [K.Pattern] = new JsonObject { [K.Regex] = pattern },
                        [K.Behavior] = K.Isolated,
                        [K.Invert] = false,
                    },
                    ByteLevel()),
            },
            [K.PostProcessor] = new JsonObject
            {
                [K.Type] = K.TemplateProcessingType,
                [K.Single] = new JsonArray(Special(eod), Sequence("A", 0)),
                [K.Pair] = new JsonArray(Special(eod), Sequence("A", 0), Sequence("B", 1)),
                [K.SpecialTokens] = new JsonObject
                {
                    [eod] = new JsonObject { [K.Id] = eod, [K.Ids] = new JsonArray(tokenizer.EndOfDocumentId), [K.Tokens] = new JsonArray(eod) },
                },
            },
            [K.Decoder] = ByteLevel(),
            [K.Model] = new JsonObject
            {
                [K.Type] = K.BpeType,
                [K.Dropout] = null,
                [K.UnkToken] = null,
                [K.ContinuingSubwordPrefix] = null,
                [K.EndOfWordSuffix] = null,
                [K.FuseUnk] = false,
                [K.ByteFallback] = false,
                [K.IgnoreMerges] = false,
                [K.Vocab] = vocab,
                // "left right" rather than ["left", "right"]: every reader (onnxruntime-extensions included) takes it, and a
                // byte-level spelling never holds a space.
                [K.Merges] = new JsonArray(tokenizer.Merges.Select(m => (JsonNode)(m.Left + " " + m.Right)).ToArray()),
            },
        };

        static JsonObject ByteLevel() => new()
        {
            [K.Type] = K.ByteLevelType, [K.AddPrefixSpace] = false, [K.TrimOffsets] = false, [K.UseRegex] = false,
        };
        static JsonObject Special(string token) => new() { [K.SpecialToken] = new JsonObject { [K.Id] = token, [K.TypeId] = 0 } };
        static JsonObject Sequence(string id, int typeId) => new() { [K.Sequence] = new JsonObject { [K.Id] = id, [K.TypeId] = typeId } };
    }

    /// <summary>tokenizer_config.json of a tokenizer trained here: the roles, bos added, the added tokens by id.</summary>
    public static JsonObject TokenizerConfigJson(AfmTokenizer tokenizer)
    {
        if (!tokenizer.IsTrainedHere)
            throw new InvalidOperationException("Only a tokenizer trained here is written from its vocabulary; an imported one is copied.");
        string? Token(int? id) => id is int i ? tokenizer.Spelling(i) : null;
        var decoder = new JsonObject();
        foreach (var token in tokenizer.AddedTokens)
            decoder[token.Id.ToString(CultureInfo.InvariantCulture)] = AddedTokenJson(token, withId: false);
        var pattern = tokenizer.PreTokenizerPatterns.Single();
        return new JsonObject
        {
            [K.AddBosToken] = tokenizer.Roles.AddBeginOfSequence,
            [K.AddEosToken] = false,
            [K.AddedTokensDecoder] = decoder,
            [K.BosToken] = Token(tokenizer.Roles.BeginOfSequence),
            [K.EosToken] = Token(tokenizer.Roles.EndOfSequence),
            [K.PadToken] = Token(tokenizer.Roles.Padding),
            [K.UnkTokenConfig] = Token(tokenizer.Roles.Unknown),
            [K.CleanUpTokenizationSpaces] = false,
            // onnxruntime-extensions picks its BPE tokenizer by this class; transformers loads tokenizer.json through it.
            [K.TokenizerClass] = PreTokenization.LlamaCppName(pattern) == "qwen2" ? "Qwen2Tokenizer" : "GPT2Tokenizer",
        };
    }

    private static JsonObject AddedTokenJson(AddedToken token, bool withId)
    {
        var json = new JsonObject();
        if (withId)
            json[K.Id] = token.Id;
        json[K.Content] = token.Content;
        json[K.SingleWord] = false;
        json[K.LStrip] = false;
        json[K.RStrip] = false;
        json[K.Normalized] = false;
        json[K.Special] = token.Special;
        return json;
    }

    private static byte[] Serialize(JsonObject json)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, JsonFiles.WriterOptions))
            json.WriteTo(writer);
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }
}
