using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Afm.Build.Tasks;

/// <summary>
/// Writes what MSBuild evaluated from the .afmproj (forwarded properties and AFM items with their custom
/// metadata) as the JSON project snapshot that <c>afm validate</c> reads. The file is rewritten only when
/// its content changes, so its timestamp is an honest input for the incremental validate stage, and a
/// property passed on the command line (<c>-p:Seed=7</c>) still invalidates the build.
/// </summary>
public sealed class AfmWriteProjectSnapshot : Microsoft.Build.Utilities.Task, IIncrementalTask
{
    /// <summary>Metadata on <see cref="Items"/> naming each item's type (items passed to a task lose it).</summary>
    internal const string ItemTypeMetadata = "AfmItemType";

    /// <summary>Metadata holding the file that declared the item, captured before the SDK copied it.</summary>
    internal const string DefiningFileMetadata = "AfmDefiningFile";
    /// <summary>Metadata the targets set to <c>true</c> on items whose Include names a file (Corpus, EvalSet, DataFile): they get a fullPath.</summary>
    internal const string NamesFileMetadata = "AfmNamesFile";

    [Required] public string ProjectPath { get; set; } = "";

    /// <summary>One item per forwarded property: Include = name, metadata Value = evaluated value.</summary>
    public ITaskItem[] Properties { get; set; } = [];

    /// <summary>Every AFM item, each with <c>AfmItemType</c> metadata.</summary>
    public ITaskItem[] Items { get; set; } = [];

    [Required] public string OutputFile { get; set; } = "";

    /// <summary>Set by MSBuild in question mode (<c>-question</c>): writing would mean the build was not up to date.</summary>
    public bool FailIfNotIncremental { get; set; }

    public override bool Execute()
    {
        var content = Render();
        if (File.Exists(OutputFile) && File.ReadAllText(OutputFile) == content)
        {
            Log.LogMessage(MessageImportance.Low, $"Project snapshot unchanged: {OutputFile}");
            return true;
        }
        if (FailIfNotIncremental)
        {
            Log.LogError($"Building is not up to date: the project snapshot '{OutputFile}' would change.");
            return false;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(OutputFile))!);
        AtomicFile.WriteAllText(OutputFile, content);
        Log.LogMessage(MessageImportance.Low, $"Project snapshot written: {OutputFile}");
        return !Log.HasLoggedErrors;
    }

    internal string Render()
    {
        var properties = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in Properties)
        {
            var value = property.GetMetadata("Value");
            if (!string.IsNullOrEmpty(value))
                properties[property.ItemSpec] = value;
        }

        var items = new List<object>();
        foreach (var item in Items)
        {
            var type = item.GetMetadata(ItemTypeMetadata);
            var metadata = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (System.Collections.DictionaryEntry entry in item.CloneCustomMetadata())
            {
                var name = (string)entry.Key;
                if (name != ItemTypeMetadata && name != DefiningFileMetadata && name != NamesFileMetadata)
                    metadata[name] = (string?)entry.Value ?? "";
            }
            items.Add(new
            {
                type,
                include = item.ItemSpec,
                fullPath = string.Equals(item.GetMetadata(NamesFileMetadata), "true", StringComparison.OrdinalIgnoreCase) ? item.GetMetadata("FullPath") : null,
                definingFile = NullIfEmpty(item.GetMetadata(DefiningFileMetadata)) ?? NullIfEmpty(item.GetMetadata("DefiningProjectFullPath")),
                metadata,
            });
        }

        var snapshot = new { projectPath = Path.GetFullPath(ProjectPath), properties, commandLineProperties = CommandLineProperties(properties.Keys), items };
        return JsonSerializer.Serialize(snapshot, JsonOptions) + "\n";
    }

    /// <summary>
    /// The forwarded properties MSBuild got as global properties (-p:): the compiler cannot find them in any file, and
    /// without this it would point at a definition in the project that MSBuild did not use.
    /// </summary>
    private List<string>? CommandLineProperties(IEnumerable<string> forwarded)
    {
        if (BuildEngine is not IBuildEngine6 engine) return null;
        var globals = engine.GetGlobalProperties();
        var names = forwarded.Where(name => globals.Keys.Any(g => string.Equals(g, name, StringComparison.OrdinalIgnoreCase))).ToList();
        return names.Count > 0 ? names : null;
    }


    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
