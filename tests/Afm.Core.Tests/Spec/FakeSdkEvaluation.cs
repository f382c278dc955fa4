using System.Xml.Linq;
using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>
/// Builds the snapshot the SDK would write, for the simple projects tests use: the last definition of a
/// property wins, each Include part is one item (a wildcard, one per file, dropped when nothing matches),
/// metadata come from attributes and child elements, and the Data metadata of stages and adapters is expanded into
/// DataFile items as the SDK's targets do. Written independently of the reader's own matching.
/// </summary>
internal static class FakeSdkEvaluation
{
    public static readonly string[] ForwardedProperties =
    [
        "ModelName", "Version", "Seed", "AfmThreads", "ModelDim", "Layers", "Heads", "KvHeads", "FfnDim", "RopeBase",
        "TieEmbeddings", "QkNorm", "MaxSequenceLength", "NormEpsilon", "ValidationFraction", "AfmIntermediateDirectory", "AfmAllowExceedingMachine",
        "HeadDim", "AttentionBias", "LayerWiseScaling", "QkvMultipliers", "FfnMultipliers", "GqaGroups", "FfnDimDivisor",
        "AfmExportFormats", "AfmGgufTypes", "AfmOnnxOps", "AfmDeterminism", "AfmChatTemplate",
    ];

    private static readonly string[] ItemTypes = ["Tokenizer", "Corpus", "EvalSet", "TrainingStage", "DeviceProfile", "QuantizationPlan", "Adapter", "Teacher", "BaseModel", "EvalTask"];
    private static readonly string[] FileItemTypes = ["Corpus", "EvalSet", "EvalTask"];
    private static readonly string[] DataOwnerTypes = ["TrainingStage", "Adapter"];
    private static readonly string[] NotMetadata = ["Include", "Exclude", "Condition", "Remove", "Update"];

    public static ProjectSnapshot Evaluate(string projectPath, string? definingFile = null, ProjectSnapshot? into = null)
    {
        var file = definingFile ?? projectPath;
        var directory = Path.GetDirectoryName(projectPath)!;
        var document = XDocument.Load(file);
        var snapshot = into ?? new ProjectSnapshot { ProjectPath = projectPath, Properties = new(), Items = [] };

        foreach (var property in document.Descendants().Where(e => e.Parent?.Name.LocalName == "PropertyGroup"))
            if (ForwardedProperties.Contains(property.Name.LocalName) && property.Value.Trim().Length > 0)
                snapshot.Properties[property.Name.LocalName] = property.Value.Trim();

        foreach (var element in document.Descendants().Where(e => ItemTypes.Contains(e.Name.LocalName)))
        {
            var metadata = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var attribute in element.Attributes().Where(a => !NotMetadata.Contains(a.Name.LocalName)))
                metadata[attribute.Name.LocalName] = attribute.Value;
            foreach (var child in element.Elements())
                metadata[child.Name.LocalName] = child.Value.Trim();

            var type = element.Name.LocalName;
            foreach (var include in Expand(directory, (string?)element.Attribute("Include") ?? ""))
                snapshot.Items.Add(new SnapshotItem
                {
                    Type = type,
                    Include = include,
                    FullPath = FileItemTypes.Contains(type) ? Path.GetFullPath(Path.Combine(directory, include)) : null,
                    DefiningFile = file,
                    Metadata = new SortedDictionary<string, string>(metadata, StringComparer.Ordinal),
                });
            // The SDK expands Data metadata once and hands each file over as a DataFile item naming its owner.
            if (DataOwnerTypes.Contains(type) && metadata.TryGetValue("Data", out var data))
                foreach (var owner in Expand(directory, (string?)element.Attribute("Include") ?? ""))
                    foreach (var include in Expand(directory, data))
                        snapshot.Items.Add(new SnapshotItem
                        {
                            Type = "DataFile",
                            Include = include,
                            FullPath = Path.GetFullPath(Path.Combine(directory, include)),
                            DefiningFile = file,
                            Metadata = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["AfmOwnerType"] = type, ["AfmOwner"] = owner },
                        });
        }
        return snapshot;
    }

    /// <summary>Supports the wildcards tests use: "dir/*.ext" and "dir/**/*.ext".</summary>
    private static IEnumerable<string> Expand(string projectDirectory, string include)
    {
        // MSBuild accepts '\\' as a separator on every OS.
        foreach (var part in include.Replace('\\', '/').Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!part.Contains('*')) { yield return part; continue; }
            var recursive = part.Contains("**/");
            var fixedDirectory = part[..part.IndexOf('*')].TrimEnd('/');
            var filePattern = Path.GetFileName(part);
            var root = Path.Combine(projectDirectory, fixedDirectory);
            if (!Directory.Exists(root)) continue;
            var files = Directory.EnumerateFiles(root, filePattern, recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly);
            foreach (var match in files.Order(StringComparer.Ordinal))
                yield return Path.GetRelativePath(projectDirectory, match).Replace('\\', '/');
        }
    }
}
