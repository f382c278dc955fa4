using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Afm.Core.Diagnostics;
using K = Afm.Tokenizers.HuggingFaceFiles;

namespace Afm.Tokenizers;

/// <summary>
/// Reads a checkpoint's tokenizer (tokenizer.json, else tokenizer.model, with tokenizer_config.json) into an
/// <see cref="AfmTokenizer"/>. Only what the toolchain implements exactly is accepted: a byte-level BPE (optional NFC,
/// Split regexes, ByteLevel) or a SentencePiece-style BPE (Prepend/Replace "▁" normalizer or Metaspace, byte fallback).
/// Anything else is a diagnostic naming the file and the JSON path, never an approximation.
/// </summary>
internal static class HuggingFaceTokenizerReader
{
    public static AfmTokenizer Read(string directory, SourceLocation? location)
    {
        var jsonPath = Path.Combine(directory, K.TokenizerJson);
        var modelPath = Path.Combine(directory, K.SentencePieceModel);
        var config = TokenizerConfig.Read(Path.Combine(directory, K.TokenizerConfigJson), location);
        if (ChatTemplateFile.Read(directory, location) is { } template) config = config with { ChatTemplate = template };
        if (File.Exists(jsonPath))
            return new TokenizerJsonReader(jsonPath, location ?? SourceLocation.FileOnly(jsonPath)).Read(config);
        if (File.Exists(modelPath))
            return SentencePieceModelLoader.Load(modelPath, config, location ?? SourceLocation.FileOnly(modelPath));
        throw TokenizerDiagnostics.Error(TokenizerDiagnostics.TokenizerFileMissing,
            $"{directory} has no tokenizer: neither {K.TokenizerJson} nor {K.SentencePieceModel} is there.", location ?? SourceLocation.FileOnly(directory));
    }

    /// <summary>The ids of the config's roles; a named token missing from the vocabulary is an error.</summary>
    internal static SpecialTokenRoles Roles(TokenizerConfig config, Func<string, int?> idOf, int? templateBos, int? unknown, bool defaultAddBos,
        string configPath, SourceLocation at)
    {
        int? Id(string? token, string key) => token is null ? null : idOf(token) ?? throw TokenizerDiagnostics.Error(
            TokenizerDiagnostics.MalformedTokenizerConfig, $"{configPath}: '{key}' is \"{token}\", which is not in the vocabulary.", at);
        var bos = Id(config.BosToken, K.BosToken) ?? templateBos;
        var addBos = config.AddBosToken ?? (templateBos is not null || defaultAddBos);
        return new SpecialTokenRoles(bos, Id(config.EosToken, K.EosToken), Id(config.PadToken, K.PadToken), Id(config.UnkToken, K.UnkTokenConfig) ?? unknown,
            addBos && bos is not null);
    }

    private sealed class TokenizerJsonReader(string path, SourceLocation at)
    {
        public AfmTokenizer Read(TokenizerConfig config)
        {
            var root = TokenizerFileInput.ReadObject(path, at, TokenizerDiagnostics.MalformedTokenizerFile);
            var model = Object(root, K.Model, required: true)!;
            var type = String(model, K.Type, $"{K.Model}.{K.Type}");
            if (type is not null && type != K.BpeType)
                throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerModel, $"{K.Model}.{K.Type} is \"{type}\"; only BPE tokenizers are supported (not WordPiece, Unigram or WordLevel)");
            if (model[K.Dropout] is JsonValue dropout && dropout.GetValueKind() == System.Text.Json.JsonValueKind.Number && dropout.GetValue<double>() != 0)
                throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerModel, $"{K.Model}.{K.Dropout} is set: BPE dropout is for training, the toolchain encodes without it");
            foreach (var affix in new[] { K.ContinuingSubwordPrefix, K.EndOfWordSuffix })
            {
                if (String(model, affix, $"{K.Model}.{affix}") is { Length: > 0 } value)
                    throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerModel, $"{K.Model}.{affix} is \"{value}\"; subword affixes are not supported");
            }

            var vocabulary = Vocabulary(model);
            var merges = Merges(model);
            var added = AddedTokens(root, config);
            foreach (var token in added)
                vocabulary.TryAdd(token.Content, token.Id);
            CheckIds(vocabulary, added);
            var addedByContent = added.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
            foreach (var (left, right) in merges)
            {
                if (!vocabulary.ContainsKey(left) || !vocabulary.ContainsKey(right) || !vocabulary.ContainsKey(left + right))
                    throw Malformed($"{K.Model}.{K.Merges} holds \"{left} {right}\", whose parts or result are not in {K.Model}.{K.Vocab}");
            }

            var unknown = String(model, K.UnkToken, $"{K.Model}.{K.UnkToken}") is { } unk
                ? vocabulary.TryGetValue(unk, out var unkId) ? unkId : throw Malformed($"{K.Model}.{K.UnkToken} \"{unk}\" is not in {K.Model}.{K.Vocab}")
                : (int?)null;
            var byteFallback = Bool(model, K.ByteFallback, $"{K.Model}.{K.ByteFallback}") ?? false;
            ITokenModel tokenModel = Pipeline(root) switch
            {
                ByteLevelPipeline p when !byteFallback => new ByteLevelBpeModel(vocabulary, merges, p.Patterns, p.Nfc,
                    Bool(model, K.IgnoreMerges, $"{K.Model}.{K.IgnoreMerges}") ?? false, addedByContent),
                ByteLevelPipeline => throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerModel, $"{K.Model}.{K.ByteFallback} is true in a byte-level tokenizer, where every byte already has a token"),
                SentencePiecePipeline p => SentencePiece(vocabulary, merges, addedByContent, unknown, byteFallback,
                    Bool(model, K.FuseUnk, $"{K.Model}.{K.FuseUnk}") ?? false, p),
                _ => throw new InvalidOperationException("unreachable"),
            };
            var roles = Roles(config, t => vocabulary.TryGetValue(t, out var id) ? id : null, TemplateBos(root, vocabulary), unknown,
                defaultAddBos: false, Path.Combine(Path.GetDirectoryName(path)!, K.TokenizerConfigJson), at);
            return new AfmTokenizer(tokenModel, added, roles, manifest: null, config.ChatTemplate) { SourceDirectory = Path.GetDirectoryName(Path.GetFullPath(path)) };
        }

        private SentencePieceBpeModel SentencePiece(Dictionary<string, int> vocabulary, List<(string Left, string Right)> merges,
            Dictionary<string, int> added, int? unknown, bool byteFallback, bool fuseUnknown, SentencePiecePipeline pipeline)
        {
            // Characters outside the vocabulary are cut out before merging, which is exact only if no merge involves a byte
            // token or the unknown token (SentencePiece never learns such merges).
            var unk = unknown is int u ? vocabulary.First(p => p.Value == u).Key : null;
            foreach (var (left, right) in merges)
            {
                if (IsByteToken(left) || IsByteToken(right) || left == unk || right == unk)
                    throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerModel, $"{K.Model}.{K.Merges} merges \"{left}\" and \"{right}\"; merges of byte-fallback or unknown tokens are not supported");
            }
            if (!byteFallback && unknown is null)
                throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerModel, $"{K.Model} has neither {K.ByteFallback} nor {K.UnkToken}, so a character outside the vocabulary has no token");
            return new SentencePieceBpeModel(vocabulary, merges, added, unknown, byteFallback, fuseUnknown, pipeline.Prepend, pipeline.SplitAtSpace);
        }

        private static bool IsByteToken(string token) => token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>';

        private abstract record PipelineKind;
        private sealed record ByteLevelPipeline(IReadOnlyList<string> Patterns, bool Nfc) : PipelineKind;
        private sealed record SentencePiecePipeline(SpacePrepend Prepend, bool SplitAtSpace) : PipelineKind;

        /// <summary>The normalizer and pre-tokenizer as one of the two pipelines the toolchain implements.</summary>
        private PipelineKind Pipeline(JsonObject root)
        {
            var normalizer = Object(root, K.Normalizer, required: false);
            var preTokenizer = Object(root, K.PreTokenizer, required: false);
            CheckDecoder(Object(root, K.Decoder, required: false), K.Decoder);

            var steps = preTokenizer is null ? [] : Steps(preTokenizer, K.PreTokenizers, K.PreTokenizer);
            if (steps.Count > 0 && TypeOf(steps[^1].Node, steps[^1].Path) == K.ByteLevelType)
            {
                var nfc = normalizer is not null && (TypeOf(normalizer, K.Normalizer) == K.NfcType
                    ? true : throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{K.Normalizer} is \"{TypeOf(normalizer, K.Normalizer)}\"; a byte-level tokenizer may have no normalizer or NFC"));
                var patterns = new List<string>();
                foreach (var (node, stepPath) in steps.SkipLast(1))
                    patterns.Add(SplitPattern(node, stepPath));
                var byteLevel = steps[^1];
                if (Bool(byteLevel.Node, K.AddPrefixSpace, $"{byteLevel.Path}.{K.AddPrefixSpace}") == true)
                    throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{byteLevel.Path}.{K.AddPrefixSpace} is true; only false is supported");
                if (Bool(byteLevel.Node, K.UseRegex, $"{byteLevel.Path}.{K.UseRegex}") ?? true)
                    patterns.Add(PreTokenization.WholeNumbersPattern); // ByteLevel's own regex is GPT-2's
                return new ByteLevelPipeline(patterns, nfc);
            }
            if (preTokenizer is null && normalizer is not null)
                return new SentencePiecePipeline(LegacyNormalizer(normalizer), SplitAtSpace: false);
            if (steps.Count == 1 && TypeOf(steps[0].Node, steps[0].Path) == K.MetaspaceType)
            {
                if (normalizer is not null)
                    throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{K.Normalizer} is set beside a Metaspace {K.PreTokenizer}; only one of them may add \"▁\"");
                return Metaspace(steps[0].Node, steps[0].Path);
            }
            throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline,
                $"{K.PreTokenizer} is {Describe(preTokenizer)} with {K.Normalizer} {Describe(normalizer)}; supported are byte-level (K.Split regexes then ByteLevel, normalizer null or NFC) and SentencePiece-style (Metaspace, or a K.Prepend/Replace \"▁\" normalizer)");
        }

        private string SplitPattern(JsonObject node, string stepPath)
        {
            var type = TypeOf(node, stepPath);
            if (type != K.SplitType)
                throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{stepPath} is \"{type}\"; before ByteLevel only K.Split pre-tokenizers are supported");
            var behavior = String(node, K.Behavior, $"{stepPath}.{K.Behavior}");
            if (behavior != K.Isolated || Bool(node, K.Invert, $"{stepPath}.{K.Invert}") == true)
                throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{stepPath} splits with behavior \"{behavior}\"{(Bool(node, K.Invert, "") == true ? ", inverted" : "")}; only K.Isolated, not inverted, is supported");
            var pattern = Object(node, K.Pattern, required: true, $"{stepPath}.{K.Pattern}")!;
            var regex = String(pattern, K.Regex, $"{stepPath}.{K.Pattern}.{K.Regex}")
                ?? (String(pattern, K.String, $"{stepPath}.{K.Pattern}.{K.String}") is { } literal ? System.Text.RegularExpressions.Regex.Escape(literal) : null)
                ?? throw Malformed($"{stepPath}.{K.Pattern} has neither K.Regex nor K.String");
            try
            {
                _ = new System.Text.RegularExpressions.Regex(regex, RegexOptions.CultureInvariant);
            }
            catch (ArgumentException e)
            {
                throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{stepPath}.{K.Pattern}.{K.Regex} is not a regex .NET can run ({e.Message}); Oniguruma-only syntax (possessive quantifiers, \\p{{Han}}) is not supported");
            }
            return regex;
        }

        private SpacePrepend LegacyNormalizer(JsonObject normalizer)
        {
            // Llama-2's file: K.Sequence [K.Prepend "▁", Replace " " -> "▁"], applied to every stretch between added tokens.
            var steps = Steps(normalizer, K.Normalizers, K.Normalizer);
            if (steps.Count == 2 && TypeOf(steps[0].Node, steps[0].Path) == K.PrependType && String(steps[0].Node, K.Prepend, "") == "\u2581" && IsSpaceToMeta(steps[1]))
                return SpacePrepend.EveryStretch;
            if (steps.Count == 1 && IsSpaceToMeta(steps[0]))
                return SpacePrepend.Never;
            throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{K.Normalizer} is {Describe(normalizer)}; without a pre-tokenizer only Llama-2's K.Prepend \"▁\" + Replace \" \" -> \"▁\" is supported");
        }

        private bool IsSpaceToMeta((JsonObject Node, string Path) step) =>
            TypeOf(step.Node, step.Path) == K.ReplaceType && step.Node[K.Pattern] is JsonObject p && String(p, K.String, "") == " " && String(step.Node, K.Content, "") == "\u2581";

        private SentencePiecePipeline Metaspace(JsonObject node, string stepPath)
        {
            if (String(node, K.Replacement, $"{stepPath}.{K.Replacement}") is { } replacement && replacement != "\u2581")
                throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{stepPath}.{K.Replacement} is \"{replacement}\"; only \"▁\" is supported");
            var scheme = String(node, K.PrependScheme, $"{stepPath}.{K.PrependScheme}") switch
            {
                "always" => SpacePrepend.Always,
                "first" => SpacePrepend.First,
                "never" => SpacePrepend.Never,
                null => Bool(node, K.AddPrefixSpace, $"{stepPath}.{K.AddPrefixSpace}") == false ? SpacePrepend.Never : SpacePrepend.Always,
                var other => throw Malformed($"{stepPath}.{K.PrependScheme} is \"{other}\", not always, first or never"),
            };
            return new SentencePiecePipeline(scheme, Bool(node, K.Split, $"{stepPath}.{K.Split}") ?? true);
        }

        private static readonly HashSet<string> KnownDecoders = [K.ByteLevelType, K.MetaspaceType, K.SequenceType, K.ReplaceType, K.ByteFallbackType, K.FuseType, K.StripType];

        private void CheckDecoder(JsonObject? decoder, string nodePath)
        {
            if (decoder is null)
                return;
            var type = TypeOf(decoder, nodePath);
            if (!KnownDecoders.Contains(type))
                throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{nodePath} is \"{type}\"; supported decoders are {string.Join(", ", KnownDecoders)}");
            if (type == K.SequenceType)
            {
                foreach (var (step, stepPath) in Steps(decoder, HuggingFaceFiles.Decoders, nodePath))
                    CheckDecoder(step, stepPath);
            }
        }

        /// <summary>The beginning-of-sequence token a TemplateProcessing post-processor puts first, if any.</summary>
        private int? TemplateBos(JsonObject root, Dictionary<string, int> vocabulary)
        {
            var processor = Object(root, K.PostProcessor, required: false);
            if (processor is null)
                return null;
            var type = TypeOf(processor, K.PostProcessor);
            if (type == K.SequenceType)
            {
                return Steps(processor, K.Processors, K.PostProcessor).Select(s => s.Node).FirstOrDefault(s => TypeOf(s, K.PostProcessor) == K.TemplateProcessingType) is { } template
                    ? FirstSpecial(template) : null;
            }
            return type switch
            {
                K.TemplateProcessingType => FirstSpecial(processor),
                K.ByteLevelType => null,
                _ => throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerPipeline, $"{K.PostProcessor} is \"{type}\"; supported are TemplateProcessing and ByteLevel"),
            };

            int? FirstSpecial(JsonObject template) =>
                template[K.Single] is JsonArray { Count: > 0 } single && single[0] is JsonObject first && first[K.SpecialToken] is JsonObject special
                    && String(special, K.Id, $"{K.PostProcessor}.{K.Single}[0].{K.SpecialToken}.{K.Id}") is { } token
                    ? vocabulary.TryGetValue(token, out var id) ? id : throw Malformed($"{K.PostProcessor}.{K.Single} starts with \"{token}\", which is not in the vocabulary")
                    : null;
        }

        private Dictionary<string, int> Vocabulary(JsonObject model)
        {
            var vocab = Object(model, K.Vocab, required: true, $"{K.Model}.{K.Vocab}")!;
            var result = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
            foreach (var (token, node) in vocab)
            {
                if (node is not JsonValue value || !value.TryGetValue<int>(out var id) || id < 0)
                    throw Malformed($"{K.Model}.{K.Vocab}[\"{token}\"] is not a non-negative integer id");
                result[token] = id;
            }
            return result;
        }

        private List<(string Left, string Right)> Merges(JsonObject model)
        {
            if (model[K.Merges] is not JsonArray merges)
                throw Malformed($"{K.Model}.{K.Merges} is missing or not a list");
            var result = new List<(string, string)>(merges.Count);
            for (var i = 0; i < merges.Count; i++)
            {
                // Two spellings: "a b" (older files) and ["a", "b"] (tokenizers 0.20 and later).
                var merge = merges[i] switch
                {
                    JsonValue v when v.TryGetValue<string>(out var s) && s.Split(' ') is [var a, var b] => (a, b),
                    JsonArray { Count: 2 } pair when pair[0] is JsonValue a && a.TryGetValue<string>(out var l) && pair[1] is JsonValue b && b.TryGetValue<string>(out var r) => (l, r),
                    _ => throw Malformed($"{K.Model}.{K.Merges}[{i}] is neither \"left right\" nor [\"left\", \"right\"]"),
                };
                if (merge.Item1.Contains(' ') || merge.Item2.Contains(' '))
                    throw Unsupported(TokenizerDiagnostics.UnsupportedTokenizerModel, $"{K.Model}.{K.Merges}[{i}] merges tokens that contain a space, which Microsoft.ML.Tokenizers' merge list cannot hold");
                result.Add(merge);
            }
            return result;
        }

        private List<AddedToken> AddedTokens(JsonObject root, TokenizerConfig config)
        {
            var result = new List<AddedToken>();
            if (root[HuggingFaceFiles.AddedTokens] is JsonArray list)
            {
                for (var i = 0; i < list.Count; i++)
                {
                    var at = $"{HuggingFaceFiles.AddedTokens}[{i}]";
                    if (list[i] is not JsonObject token || token[K.Id] is not JsonValue idValue || !idValue.TryGetValue<int>(out var id) || id < 0
                        || String(token, K.Content, $"{at}.{K.Content}") is not { Length: > 0 } content)
                        throw Malformed($"{at} lacks a non-negative integer id or a non-empty content");
                    foreach (var option in new[] { K.SingleWord, K.LStrip, K.RStrip })
                    {
                        if (Bool(token, option, $"{at}.{option}") == true)
                            throw Unsupported(TokenizerDiagnostics.UnsupportedAddedToken, $"{at} (\"{content}\") sets {option}; added tokens with {K.SingleWord}, {K.LStrip} or {K.RStrip} are not supported");
                    }
                    var special = Bool(token, K.Special, $"{at}.{K.Special}") ?? false;
                    if (Bool(token, K.Normalized, $"{at}.{K.Normalized}") == true && root[K.Normalizer] is JsonObject && !special)
                        throw Unsupported(TokenizerDiagnostics.UnsupportedAddedToken, $"{at} (\"{content}\") is matched after normalization ({K.Normalized}: true), which is not supported with a {K.Normalizer}");
                    result.Add(new AddedToken(id, content, special));
                }
            }
            else if (root[HuggingFaceFiles.AddedTokens] is not null)
            {
                throw Malformed($"{HuggingFaceFiles.AddedTokens} is not a list");
            }
            // tokenizer_config.json may list more (added_tokens_decoder); tokenizer.json wins where both name an id.
            foreach (var token in config.AddedTokens)
            {
                if (result.All(t => t.Id != token.Id))
                    result.Add(token);
            }
            return result.OrderBy(t => t.Id).ToList();
        }

        private void CheckIds(Dictionary<string, int> vocabulary, List<AddedToken> added)
        {
            foreach (var token in added)
            {
                if (vocabulary[token.Content] != token.Id)
                    throw Malformed($"{HuggingFaceFiles.AddedTokens} gives \"{token.Content}\" id {token.Id}, but {K.Model}.{K.Vocab} gives it {vocabulary[token.Content]}");
            }
            var seen = new bool[vocabulary.Count];
            foreach (var (token, id) in vocabulary)
            {
                if (id >= seen.Length)
                    throw Malformed($"the ids are not 0..{seen.Length - 1}: \"{token}\" has id {id} (an id is missing or used twice)");
                if (seen[id])
                    throw Malformed($"id {id} is given to two tokens");
                seen[id] = true;
            }
        }

        private List<(JsonObject Node, string Path)> Steps(JsonObject node, string listKey, string nodePath)
        {
            if (TypeOf(node, nodePath) != K.SequenceType)
                return [(node, nodePath)];
            if (node[listKey] is not JsonArray list)
                throw Malformed($"{nodePath}.{listKey} is missing or not a list");
            var steps = new List<(JsonObject, string)>();
            for (var i = 0; i < list.Count; i++)
                steps.Add((list[i] as JsonObject ?? throw Malformed($"{nodePath}.{listKey}[{i}] is not an object"), $"{nodePath}.{listKey}[{i}]"));
            return steps;
        }

        private string TypeOf(JsonObject node, string nodePath) =>
            String(node, K.Type, $"{nodePath}.{K.Type}") ?? throw Malformed($"{nodePath} has no {K.Type}");

        private JsonObject? Object(JsonObject parent, string key, bool required, string? nodePath = null) => parent[key] switch
        {
            JsonObject o => o,
            null when !required => null,
            null => throw Malformed($"{nodePath ?? key} is missing"),
            _ => throw Malformed($"{nodePath ?? key} is not an object"),
        };

        private string? String(JsonObject parent, string key, string nodePath) => parent[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => throw Malformed($"{nodePath} is not a string"),
        };

        private bool? Bool(JsonObject parent, string key, string nodePath) => parent[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            _ => throw Malformed($"{nodePath} is not true or false"),
        };

        private static string Describe(JsonObject? node) => node is null ? "null" : node[K.Type] is JsonValue t && t.TryGetValue<string>(out var s) ? $"\"{s}\"" : "untyped";

        private DiagnosticException Malformed(string what) =>
            TokenizerDiagnostics.Error(TokenizerDiagnostics.MalformedTokenizerFile, $"{path}: {what}.", at);

        private DiagnosticException Unsupported(string code, string what) =>
            TokenizerDiagnostics.Error(code, $"{path}: {what}.", at);
    }
}
