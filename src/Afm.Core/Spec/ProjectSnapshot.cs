using System.Text.Json;
using System.Text.Json.Serialization;

namespace Afm.Core.Spec;

/// <summary>
/// What MSBuild evaluated from an .afmproj: the model properties and every AFM item with its custom
/// metadata, in project order. The SDK's <c>AfmWriteProjectSnapshot</c> task writes it (only when it
/// changes, so its timestamp is a faithful input for incremental builds); <c>afm validate</c> reads it.
/// This is the one contract between the MSBuild layer and the compiler.
/// </summary>
public sealed record ProjectSnapshot
{
    /// <summary>Full path of the .afmproj.</summary>
    public required string ProjectPath { get; init; }

    /// <summary>Property name to evaluated value; only properties the SDK forwards, empty ones omitted.</summary>
    public required SortedDictionary<string, string> Properties { get; init; }

    public required List<SnapshotItem> Items { get; init; }

    /// <summary>
    /// Names of forwarded properties MSBuild received as global properties (<c>-p:</c> on the command line, or from the
    /// SDK building a teacher): no file defines the value it used. Null when none.
    /// </summary>
    public List<string>? CommandLineProperties { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static ProjectSnapshot Load(string path) =>
        JsonSerializer.Deserialize<ProjectSnapshot>(File.ReadAllText(path), JsonOptions)
        ?? throw new InvalidDataException($"{path}: empty project snapshot");
}

/// <summary>One evaluated item. A wildcard Include yields one item per matched file.</summary>
public sealed record SnapshotItem
{
    /// <summary>Item type: Tokenizer, Corpus, EvalSet, TrainingStage, ...</summary>
    public required string Type { get; init; }

    /// <summary>The evaluated item spec (for file items, the path relative to the project as MSBuild gives it).</summary>
    public required string Include { get; init; }

    /// <summary>Full path, for items that name files (MSBuild's %(FullPath)).</summary>
    public string? FullPath { get; init; }

    /// <summary>The file whose XML declared the item (MSBuild's %(DefiningProjectFullPath)).</summary>
    public string? DefiningFile { get; init; }

    /// <summary>Custom metadata only (no well-known metadata), in a stable order.</summary>
    public required SortedDictionary<string, string> Metadata { get; init; }
}
