using System.Text.Json;

namespace Afm.Runtime.Generation.Constraints;

/// <summary>
/// A JSON Schema reduced to the shapes constrained decoding writes (<see cref="SchemaState"/>): an object writes every
/// declared property once, in the schema's order (valid whether or not a property is required, and what OpenAI's strict
/// mode asks: every property required, no others); an array any number of items; enum, const, boolean and null a choice
/// among fixed literals. <see cref="Compile"/> refuses every keyword it cannot enforce, naming it, rather than write
/// output the schema rejects.
/// </summary>
public abstract record SchemaShape
{
    /// <summary>The length of the shortest JSON text of this shape.</summary>
    public abstract int Shortest { get; }

    /// <summary>Nesting deeper than this is refused: a schema is user input, and compiling it recurses.</summary>
    public const int MaxDepth = 32;

    private static readonly HashSet<string> Annotations = ["title", "description", "$schema", "$id", "$comment", "examples", "default"];

    public static SchemaShape Compile(JsonElement schema) => Compile(schema, "schema", 0);

    private static SchemaShape Compile(JsonElement schema, string path, int depth)
    {
        if (depth > MaxDepth) throw new SchemaException($"{path}: the schema nests deeper than {MaxDepth} levels.");
        if (schema.ValueKind != JsonValueKind.Object) throw new SchemaException($"{path}: a schema must be an object.");
        var keywords = schema.EnumerateObject().Select(p => p.Name).Where(k => !Annotations.Contains(k)).ToHashSet();
        if (schema.TryGetProperty("const", out var constant))
            return Only(keywords, path, ["const", "type"], new LiteralsShape([Literal(constant, path + ".const")]));
        if (schema.TryGetProperty("enum", out var options))
        {
            if (options.ValueKind != JsonValueKind.Array || options.GetArrayLength() == 0) throw new SchemaException($"{path}.enum: must be a non-empty array.");
            return Only(keywords, path, ["enum", "type"], new LiteralsShape(options.EnumerateArray().Select((o, i) => Literal(o, $"{path}.enum[{i}]")).Distinct().ToArray()));
        }
        var type = schema.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
            : throw new SchemaException($"{path}: 'type' must be one type name (a list of types, anyOf and $ref are not supported yet).");
        switch (type)
        {
            case "object":
                var properties = new List<(string, SchemaShape)>();
                if (schema.TryGetProperty("properties", out var declared))
                {
                    if (declared.ValueKind != JsonValueKind.Object) throw new SchemaException($"{path}.properties: must be an object.");
                    foreach (var property in declared.EnumerateObject())
                        properties.Add((property.Name, Compile(property.Value, $"{path}.properties.{property.Name}", depth + 1)));
                }
                if (schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind is not (JsonValueKind.False or JsonValueKind.True))
                    throw new SchemaException($"{path}.additionalProperties: only true or false is supported (no extra property is ever written).");
                return Only(keywords, path, ["type", "properties", "required", "additionalProperties"], new ObjectShape(properties));
            case "array":
                if (!schema.TryGetProperty("items", out var items)) throw new SchemaException($"{path}: an array needs 'items'.");
                return Only(keywords, path, ["type", "items"], new ArrayShape(Compile(items, path + ".items", depth + 1)));
            case "string": return Only(keywords, path, ["type"], new StringShape());
            case "number": return Only(keywords, path, ["type"], new NumberShape(false));
            case "integer": return Only(keywords, path, ["type"], new NumberShape(true));
            case "boolean": return Only(keywords, path, ["type"], new LiteralsShape(["true", "false"]));
            case "null": return Only(keywords, path, ["type"], new LiteralsShape(["null"]));
            default: throw new SchemaException($"{path}: unknown type '{type}'.");
        }
    }

    private static SchemaShape Only(HashSet<string> keywords, string path, string[] supported, SchemaShape shape)
    {
        var other = keywords.Except(supported).Order(StringComparer.Ordinal).ToList();
        return other.Count == 0 ? shape : throw new SchemaException($"{path}: '{other[0]}' cannot be enforced yet (supported: type, properties, required, additionalProperties, items, enum, const).");
    }

    /// <summary>An enum or const value as the literal written: strings, booleans and null (JSON strings are prefix-free, so choices never overlap).</summary>
    private static string Literal(JsonElement value, string path) => value.ValueKind switch
    {
        JsonValueKind.String => JsonSerializer.Serialize(value.GetString()),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        _ => throw new SchemaException($"{path}: only strings, booleans and null can be enum or const values yet."),
    };
}

public sealed record ObjectShape(IReadOnlyList<(string Key, SchemaShape Value)> Properties) : SchemaShape
{
    /// <summary>Computed once: the automaton asks for it at every step, and a schema may have thousands of properties.</summary>
    public override int Shortest { get; } = 2 + Properties.Sum(p => JsonSerializer.Serialize(p.Key).Length + 1 + p.Value.Shortest) + Math.Max(0, Properties.Count - 1);
}

public sealed record ArrayShape(SchemaShape Items) : SchemaShape
{
    public override int Shortest => 2;
}

public sealed record StringShape : SchemaShape
{
    public override int Shortest => 2;
}

public sealed record NumberShape(bool Integer) : SchemaShape
{
    public override int Shortest => 1;
}

/// <summary>One of fixed JSON literals, none a prefix of another.</summary>
public sealed record LiteralsShape(IReadOnlyList<string> Options) : SchemaShape
{
    public override int Shortest { get; } = Options.Min(o => o.Length);
}

/// <summary>A schema constrained decoding cannot enforce, with the path to the part at fault.</summary>
public sealed class SchemaException(string message) : Exception(message);
