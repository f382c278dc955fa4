using Afm.Core.Diagnostics;

namespace Afm.Core.Spec.Reading;

/// <summary>A raw project value with what it is (for messages) and where it was written.</summary>
internal readonly record struct RawValue(string What, string Text, SourceLocation Location);

/// <summary>
/// What every part of the reader shares: the snapshot, where things were written, and the diagnostics
/// gathered so far. Readers report and carry on, so one run shows the user every mistake.
/// </summary>
internal sealed partial class SpecContext
{
    private readonly List<Diagnostic> _diagnostics = [];
    private readonly HashSet<Diagnostic> _reported = [];
    private readonly Dictionary<string, string> _properties;

    public SpecContext(ProjectSnapshot snapshot)
    {
        Snapshot = snapshot;
        Locator = new SourceLocator(snapshot);
        // MSBuild names are case-insensitive; the snapshot keeps them as written.
        _properties = new Dictionary<string, string>(snapshot.Properties, StringComparer.OrdinalIgnoreCase);
    }

    public ProjectSnapshot Snapshot { get; }
    public SourceLocator Locator { get; }
    public IReadOnlyList<Diagnostic> Diagnostics => _diagnostics;
    public bool HasErrors => _diagnostics.Any(d => d.IsError);

    public string ProjectDirectory => Path.GetDirectoryName(Snapshot.ProjectPath) ?? "/";

    public void Error(string code, SourceLocation location, string message) =>
        Add(new Diagnostic(DiagnosticSeverity.Error, code, message, location));

    public void Warning(string code, SourceLocation location, string message) =>
        Add(new Diagnostic(DiagnosticSeverity.Warning, code, message, location));

    // A wildcard declaration yields one item per file; a mistake in its metadata is one mistake, said once.
    private void Add(Diagnostic diagnostic)
    {
        if (_reported.Add(diagnostic)) _diagnostics.Add(diagnostic);
    }

    /// <summary>A property's value, or null when unset (MSBuild treats empty as unset).</summary>
    /// <remarks>
    /// A value given on the command line (<c>-p:Name=value</c>) overrides every definition in the files, so it is
    /// located at the project without a line and its messages say where it came from.
    /// </remarks>
    public RawValue? Property(string name)
    {
        if (!_properties.TryGetValue(name, out var text) || string.IsNullOrWhiteSpace(text)) return null;
        if (Snapshot.CommandLineProperties?.Contains(name, StringComparer.OrdinalIgnoreCase) == true)
            return new RawValue($"{name} (set on the command line, -p:{name}=...)", text.Trim(), Locator.Project);
        return new RawValue(name, text.Trim(), Locator.Property(name, text));
    }

    /// <summary>A property that must be set: reports AFM1001 when it is not.</summary>
    public RawValue? RequiredProperty(string name, string example)
    {
        var value = Property(name);
        if (value is null)
            Error(DiagnosticCodes.RequiredPropertyMissing, Locator.Project,
                $"The project does not set {name}, which is required. Add <{name}>{example}</{name}> to a <PropertyGroup>.");
        return value;
    }

    /// <summary>Items of one type in project order.</summary>
    /// <param name="namedByMetadata">File items are known by their Name metadata, not by their Include (one file).</param>
    public IReadOnlyList<ItemView> Items(string type, bool namedByMetadata = false) =>
        Snapshot.Items.Where(i => string.Equals(i.Type, type, StringComparison.OrdinalIgnoreCase))
            .Select(i => new ItemView(i, type, namedByMetadata, this)).ToList();
}
