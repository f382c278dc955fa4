using System.Xml.Linq;
using Afm.Core.Diagnostics;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// Maps evaluated items and properties back to the XML that declared them, so every diagnostic points at
/// an element or attribute. Items are aligned with the declaring elements in document order: each item is
/// attributed to the first Include part, at or after the previous item's, that can have produced it.
/// That order-preserving walk tells two identical declarations apart (duplicate stage names) and finds the
/// wildcard parts that produced nothing, which MSBuild drops silently.
/// </summary>
internal sealed class SourceLocator
{
    private sealed record Part(XElement Element, int Index, string Text, bool Wildcard, bool Dynamic, string Absolute);
    private sealed record Origin(string File, XElement Element);

    private readonly ProjectXml _xml = new();
    private readonly string _projectPath;
    private readonly string _projectDirectory;
    private readonly Dictionary<(string File, string Type), List<Part>> _parts = new();
    private readonly Dictionary<SnapshotItem, Origin> _origins = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Part> _producedItems = new(ReferenceEqualityComparer.Instance);
    private readonly PropertyDefinitions _properties;

    public SourceLocator(ProjectSnapshot snapshot)
    {
        _projectPath = snapshot.ProjectPath;
        _projectDirectory = Path.GetDirectoryName(snapshot.ProjectPath) ?? "/";
        _properties = new PropertyDefinitions(_xml, _projectPath);
        foreach (var group in snapshot.Items.GroupBy(i => (File: DefiningFile(i), Type: i.Type.ToLowerInvariant())))
            Align(group.Key.File, group.Key.Type, group.ToList());
        // An item copied inside a target (as the SDK does to hand items to its task) takes that target's
        // file as its DefiningProjectFullPath (dotnet/msbuild#2842); look for what is left in the project.
        foreach (var group in snapshot.Items.Where(i => !_origins.ContainsKey(i) && DefiningFile(i) != _projectPath)
                     .GroupBy(i => i.Type.ToLowerInvariant()))
            Align(_projectPath, group.Key, group.ToList());
    }

    public SourceLocation Project => SourceLocation.FileOnly(_projectPath);

    /// <summary>The declaring element; else the project file, which is where the user looks first.</summary>
    public SourceLocation Item(SnapshotItem item) =>
        _origins.TryGetValue(item, out var origin) ? ProjectXml.At(origin.File, origin.Element) : Project;

    /// <summary>The Include attribute, for problems with the item's identity (its name, kind or file).</summary>
    public SourceLocation Include(SnapshotItem item) => Metadata(item, "Include");

    /// <summary>The metadata as an attribute or as a child element; else the item itself (e.g. set by an ItemDefinitionGroup).</summary>
    public SourceLocation Metadata(SnapshotItem item, string name)
    {
        if (!_origins.TryGetValue(item, out var origin)) return Item(item);
        if (LastUpdate(item, origin, name) is { } update) return update;
        if (ProjectXml.Attribute(origin.Element, name) is { } attribute) return ProjectXml.At(origin.File, attribute);
        if (ProjectXml.Child(origin.Element, name) is { } child) return ProjectXml.At(origin.File, child);
        return ProjectXml.At(origin.File, origin.Element);
    }

    /// <summary>
    /// The metadata as set by the last <c>&lt;Type Update="..."&gt;</c> after the declaring element, in the same file, that
    /// names the item and sets it to the value MSBuild ended with (MSBuild applies Updates in order, to the items declared
    /// before them; an Update whose value differs was not applied, e.g. under a false Condition).
    /// </summary>
    private SourceLocation? LastUpdate(SnapshotItem item, Origin origin, string name)
    {
        if (_xml.Load(origin.File) is not { } document) return null;
        item.Metadata.TryGetValue(name, out var evaluated);
        var fullPath = MsBuildGlob.Normalize(item.FullPath ?? MsBuildGlob.Absolute(_projectDirectory, item.Include));
        SourceLocation? found = null;
        foreach (var element in ProjectXml.Named(document, item.Type).Where(e => e.IsAfter(origin.Element)))
        {
            if (ProjectXml.Attribute(element, "Update") is not { } update) continue;
            var names = update.Value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Any(part =>
                string.Equals(MsBuildGlob.Normalize(part), MsBuildGlob.Normalize(item.Include), StringComparison.OrdinalIgnoreCase)
                || MsBuildGlob.Matches(MsBuildGlob.Absolute(_projectDirectory, part), fullPath));
            if (!names) continue;
            if (ProjectXml.Attribute(element, name) is { } attribute && Sets(attribute.Value, evaluated)) found = ProjectXml.At(origin.File, attribute);
            else if (ProjectXml.Child(element, name) is { } child && Sets(child.Value, evaluated)) found = ProjectXml.At(origin.File, child);
        }
        return found;
    }

    private static bool Sets(string text, string? evaluated) =>
        evaluated is null || MsBuildGlob.IsDynamic(text) || string.Equals(text.Trim(), evaluated.Trim(), StringComparison.Ordinal);

    /// <summary>
    /// The definition of a property MSBuild used (<see cref="PropertyDefinitions"/>); the project file without a line when
    /// none of the files holds it (a default of the SDK, an environment variable, or a -p: on the command line).
    /// </summary>
    public SourceLocation Property(string name, string? evaluatedValue = null) =>
        _properties.Find(name, evaluatedValue) is var (file, element) ? ProjectXml.At(file, element) : Project;

    /// <summary>
    /// Wildcard Include parts of this item type that produced no item. Conditional declarations are left
    /// out: their items may be absent on purpose, and we cannot evaluate conditions here.
    /// </summary>
    public IEnumerable<(string Pattern, SourceLocation Location, XElement Element)> UnmatchedWildcards(string itemType)
    {
        var files = _parts.Keys.Where(k => k.Type == itemType.ToLowerInvariant()).Select(k => k.File).Append(_projectPath).Distinct();
        foreach (var file in files)
            foreach (var part in Parts(file, itemType))
                if (part.Wildcard && !part.Dynamic && !_producedItems.Contains(part) && !ProjectXml.IsConditional(part.Element))
                {
                    var include = ProjectXml.Attribute(part.Element, "Include")!;
                    yield return (part.Text, ProjectXml.At(file, include), part.Element);
                }
    }

    private string DefiningFile(SnapshotItem item) =>
        string.IsNullOrEmpty(item.DefiningFile) ? _projectPath : item.DefiningFile;

    private void Align(string file, string type, List<SnapshotItem> items)
    {
        var parts = Parts(file, type);
        var cursor = 0;
        foreach (var item in items)
        {
            // Restarting from the top is a fallback for orders we do not model (e.g. items added by targets).
            var index = Find(parts, cursor, item) ?? Find(parts, 0, item);
            if (index is not int i) continue;
            _origins[item] = new Origin(file, parts[i].Element);
            _producedItems.Add(parts[i]);
            // A literal part yields one item; a wildcard or a property reference may yield many.
            cursor = parts[i].Wildcard || parts[i].Dynamic ? i : i + 1;
        }
    }

    private int? Find(List<Part> parts, int start, SnapshotItem item)
    {
        var fullPath = MsBuildGlob.Normalize(item.FullPath ?? MsBuildGlob.Absolute(_projectDirectory, item.Include));
        int? dynamic = null;
        for (var i = start; i < parts.Count; i++)
        {
            var part = parts[i];
            if (part.Dynamic) { dynamic ??= i; continue; }
            var matches = part.Wildcard
                ? MsBuildGlob.Matches(part.Absolute, fullPath)
                : string.Equals(MsBuildGlob.Normalize(part.Text), MsBuildGlob.Normalize(item.Include), StringComparison.OrdinalIgnoreCase)
                  || string.Equals(part.Absolute, fullPath, StringComparison.OrdinalIgnoreCase);
            if (matches) return i;
        }
        // Only when no literal declaration fits do we credit one we cannot evaluate.
        return dynamic;
    }

    private List<Part> Parts(string file, string type)
    {
        var key = (file, type.ToLowerInvariant());
        if (_parts.TryGetValue(key, out var cached)) return cached;
        var parts = new List<Part>();
        if (_xml.Load(file) is { } document)
            foreach (var element in ProjectXml.Named(document, type))
            {
                if (ProjectXml.Attribute(element, "Include") is not { } include) continue;
                var texts = include.Value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                for (var i = 0; i < texts.Length; i++)
                    parts.Add(new Part(element, i, texts[i], MsBuildGlob.HasWildcard(texts[i]), MsBuildGlob.IsDynamic(texts[i]),
                        MsBuildGlob.Absolute(_projectDirectory, texts[i])));
            }
        _parts[key] = parts;
        return parts;
    }
}
