using Afm.Core.Diagnostics;

namespace Afm.Core.Spec.Reading;

/// <summary>One evaluated item as a reader sees it: case-insensitive metadata, each value with its location.</summary>
internal sealed class ItemView
{
    private readonly SpecContext _context;
    private readonly Dictionary<string, string> _metadata;

    public ItemView(SnapshotItem item, string type, bool namedByMetadata, SpecContext context)
    {
        Item = item;
        Type = type;
        _context = context;
        _metadata = new Dictionary<string, string>(item.Metadata, StringComparer.OrdinalIgnoreCase);
        // Messages about a file item name its set, not the file, so that the items of one wildcard
        // declaration give identical messages (reported once) and the user sees the name they wrote.
        Describe = !namedByMetadata ? $"{type} '{item.Include}'"
            : _metadata.TryGetValue("Name", out var name) && !string.IsNullOrWhiteSpace(name) ? $"{type} '{name.Trim()}'"
            : $"{type} without Name";
    }

    public SnapshotItem Item { get; }
    public string Type { get; }
    public string Include => Item.Include;
    public string Describe { get; }
    public SourceLocation Location => _context.Locator.Item(Item);
    public SourceLocation IncludeLocation => _context.Locator.Include(Item);

    /// <summary>The file the item names, absolute (MSBuild's FullPath when the SDK gave it).</summary>
    public string FullPath => Path.GetFullPath(Item.FullPath ?? Path.Combine(_context.ProjectDirectory, Include));

    public bool Has(string name) => Get(name) is not null;

    /// <summary>The metadata's value, or null when unset or empty (as MSBuild treats empty metadata).</summary>
    public RawValue? Get(string name) =>
        _metadata.TryGetValue(name, out var text) && !string.IsNullOrWhiteSpace(text)
            ? new RawValue($"{name} of {Describe}", text.Trim(), _context.Locator.Metadata(Item, name))
            : null;

    /// <summary>Metadata that must be set: reports AFM1007 at the item when it is not.</summary>
    public RawValue? Required(string name, string example)
    {
        var value = Get(name);
        if (value is null)
            _context.Error(DiagnosticCodes.RequiredMetadataMissing, Location,
                $"{Describe} has no {name}, which is required. Add {name}=\"{example}\" to the <{Type}> element.");
        return value;
    }

    /// <summary>
    /// A warning, not an error: a misspelt name silently falls back to a default, which the user must hear
    /// about, but metadata meant for a newer toolchain should not break the build.
    /// </summary>
    public void WarnAboutUnknownMetadata(IReadOnlyCollection<string> known)
    {
        foreach (var name in _metadata.Keys.Order(StringComparer.Ordinal))
            if (!known.Contains(name, StringComparer.OrdinalIgnoreCase))
                _context.Warning(DiagnosticCodes.UnknownMetadata, _context.Locator.Metadata(Item, name),
                    $"{Type} does not use metadata '{name}', so it is ignored. Known metadata: {string.Join(", ", known)}.");
    }
}
