using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using K = Afm.Tokenizers.HuggingFaceFiles;

namespace Afm.Tokenizers;

/// <summary>
/// What the toolchain takes from a checkpoint's tokenizer_config.json: the special tokens by role, whether a sequence
/// starts with bos, the chat template (kept as text: applying it needs a Jinja engine), and the added tokens it lists.
/// </summary>
public sealed record TokenizerConfig(string? BosToken, string? EosToken, string? PadToken, string? UnkToken, bool? AddBosToken,
    string? ChatTemplate, IReadOnlyList<AddedToken> AddedTokens)
{
    public static readonly TokenizerConfig None = new(null, null, null, null, null, null, []);

    /// <summary>Reads <paramref name="path"/>; <see cref="None"/> when the file does not exist.</summary>
    internal static TokenizerConfig Read(string path, SourceLocation? location)
    {
        if (!File.Exists(path))
            return None;
        var at = location ?? SourceLocation.FileOnly(path);
        var root = TokenizerFileInput.ReadObject(path, at, TokenizerDiagnostics.MalformedTokenizerConfig);
        string? Token(string key) => root[key] switch
        {
            null => null,
            JsonValue value when value.TryGetValue<string>(out var s) => s,
            JsonObject token when token[K.Content] is JsonValue c && c.TryGetValue<string>(out var s) => s,
            _ => throw Bad($"'{key}' is neither a string nor an object with a string 'content'"),
        };
        bool? addBos = root[K.AddBosToken] switch
        {
            null => null,
            JsonValue value when value.TryGetValue<bool>(out var b) => b,
            _ => throw Bad($"'{K.AddBosToken}' is not true or false"),
        };
        var added = new List<AddedToken>();
        if (root[K.AddedTokensDecoder] is JsonObject decoder)
        {
            foreach (var (key, node) in decoder)
            {
                if (!int.TryParse(key, out var id) || id < 0 || node is not JsonObject token || token[K.Content] is not JsonValue c || !c.TryGetValue<string>(out var content))
                    throw Bad($"'{K.AddedTokensDecoder}.{key}' is not an id with an object holding a string 'content'");
                added.Add(new AddedToken(id, content, token[K.Special] is JsonValue s && s.TryGetValue<bool>(out var special) && special));
            }
        }
        return new TokenizerConfig(Token(K.BosToken), Token(K.EosToken), Token(K.PadToken), Token(K.UnkTokenConfig), addBos, Template(root[K.ChatTemplate]), added);

        DiagnosticException Bad(string what) =>
            TokenizerDiagnostics.Error(TokenizerDiagnostics.MalformedTokenizerConfig, $"{path}: {what}.", at);

        // A string, or (newer files) a list of named templates of which "default" is the one used for chat.
        string? Template(JsonNode? node) => node switch
        {
            null => null,
            JsonValue value when value.TryGetValue<string>(out var s) => s,
            JsonArray list => list.OfType<JsonObject>()
                .OrderBy(t => t[K.Name] is JsonValue n && n.TryGetValue<string>(out var name) && name == "default" ? 0 : 1)
                .Select(t => t[K.Template] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).FirstOrDefault(s => s is not null),
            _ => throw Bad($"'{K.ChatTemplate}' is neither a string nor a list of named templates"),
        };
    }
}

/// <summary>Reading a tokenizer folder's files a user supplies: bounded in size, every failure a diagnostic.</summary>
internal static class TokenizerFileInput
{
    /// <summary>The largest tokenizer file read: real ones are a few tens of MB at most.</summary>
    public const long MaxBytes = 256L << 20;

    /// <summary>
    /// Every file of a tokenizer folder (tokenizer.json, tokenizer_config.json, tokenizer.model, chat_template.jinja),
    /// read whole but no further than <see cref="MaxBytes"/>: a larger file is refused from its size, a pipe or
    /// /dev/zero after that many bytes (AFM1656).
    /// </summary>
    public static byte[] ReadBytes(string path, SourceLocation at)
    {
        if (BoundedFile.TryReadAllBytes(path, MaxBytes) is { } bytes) return bytes;
        var length = new FileInfo(path).Length;
        var size = length > MaxBytes ? $"is {length >> 20} MiB" : $"holds more than {MaxBytes >> 20} MiB";
        throw TokenizerDiagnostics.Error(TokenizerDiagnostics.TokenizerFileTooLarge,
            $"{path} {size}; the toolchain reads tokenizer files of at most {MaxBytes >> 20} MiB.", at);
    }

    public static JsonObject ReadObject(string path, SourceLocation at, string malformedCode)
    {
        var bytes = ReadBytes(path, at);
        try
        {
            return JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject
                ?? throw TokenizerDiagnostics.Error(malformedCode, $"{path} does not hold a JSON object.", at);
        }
        catch (JsonException e)
        {
            throw TokenizerDiagnostics.Error(malformedCode, $"{path} is not valid JSON: {e.Message}", at);
        }
    }
}
