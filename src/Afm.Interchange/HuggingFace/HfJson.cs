using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Core.Spec;

namespace Afm.Interchange.HuggingFace;

/// <summary>Typed access to one of a checkpoint's JSON files; every bad or missing value is an AFM1621 naming the file and key.</summary>
internal sealed class HfJson
{
    private readonly JsonObject _root;

    private HfJson(string file, JsonObject root)
    {
        File = file;
        _root = root;
    }

    /// <summary>The file's name as messages show it (e.g. config.json).</summary>
    public string File { get; }

    /// <summary>Reads a JSON object file; a file of more than <paramref name="maxBytes"/> is refused before it is read.</summary>
    public static HfJson Load(string path, string code, long maxBytes = 16 << 20)
    {
        var name = Path.GetFileName(path);
        var length = new FileInfo(path).Length;
        if (length > maxBytes)
            throw new BaseModelException(code, $"{name} is {length:N0} bytes, more than the {maxBytes:N0} a checkpoint's {name} can reasonably hold; it is not the file it should be.");
        try
        {
            return JsonNode.Parse(System.IO.File.ReadAllBytes(path)) is JsonObject root ? new HfJson(name, root)
                : throw new BaseModelException(code, $"{name} is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new BaseModelException(code, $"{name} is not valid JSON: {e.Message}");
        }
    }

    public bool Has(string key) => _root.TryGetPropertyValue(key, out var node) && node is not null;

    public JsonNode? Node(string key) => _root.TryGetPropertyValue(key, out var node) ? node : null;

    public int Int(string key, int? fallback = null, bool positive = true)
    {
        if (!Has(key))
            return fallback ?? throw Malformed($"has no '{key}', which this architecture needs");
        var node = Node(key)!;
        if (node is JsonValue v && v.TryGetValue<long>(out var n) && n <= int.MaxValue && (n > 0 || !positive && n >= 0)) return (int)n;
        if (node is JsonValue d && d.TryGetValue<double>(out var x) && x == Math.Floor(x) && x <= int.MaxValue && (x > 0 || !positive && x >= 0)) return (int)x;
        throw Malformed($"has '{key}': {node.ToJsonString()}, which is not a {(positive ? "positive" : "non-negative")} integer");
    }

    public double Double(string key, double fallback)
    {
        if (!Has(key)) return fallback;
        var node = Node(key)!;
        return node is JsonValue v && v.TryGetValue<double>(out var x) && double.IsFinite(x) && x > 0 ? x
            : throw Malformed($"has '{key}': {node.ToJsonString()}, which is not a positive number");
    }

    public bool Bool(string key, bool fallback)
    {
        if (!Has(key)) return fallback;
        var node = Node(key)!;
        return node is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw Malformed($"has '{key}': {node.ToJsonString()}, which is not true or false");
    }

    public string? String(string key) =>
        !Has(key) ? null : Node(key) is JsonValue v && v.TryGetValue<string>(out var s) ? s
            : throw Malformed($"has '{key}': {Node(key)!.ToJsonString()}, which is not a string");

    /// <summary>A number or a list of numbers, as a list (OpenELM's per-layer values).</summary>
    public IReadOnlyList<double>? Numbers(string key)
    {
        if (!Has(key)) return null;
        var node = Node(key)!;
        if (node is JsonValue single && single.TryGetValue<double>(out var one)) return [one];
        if (node is JsonArray array)
            return array.Select(e => e is JsonValue v && v.TryGetValue<double>(out var x) && double.IsFinite(x) ? x
                : throw Malformed($"has '{key}' with an entry that is not a number")).ToList();
        throw Malformed($"has '{key}': {node.ToJsonString()}, which is neither a number nor a list of numbers");
    }

    /// <summary>An id or a list of ids (eos_token_id may be either).</summary>
    public IReadOnlyList<int> Ids(string key)
    {
        if (!Has(key)) return [];
        var node = Node(key)!;
        var values = node is JsonArray array ? array.ToList() : [node];
        return values.Select(e => e is JsonValue v && v.TryGetValue<long>(out var n) && n >= 0 && n <= int.MaxValue ? (int)n
            : throw Malformed($"has '{key}': {node.ToJsonString()}, which is not a token id or a list of them")).ToList();
    }

    public BaseModelException Malformed(string what) => new(InterchangeCodes.ConfigMalformed, $"{File} {what}.");
}
