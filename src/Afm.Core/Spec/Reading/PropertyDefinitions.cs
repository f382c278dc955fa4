using System.Xml.Linq;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// Finds the definition of a property that MSBuild used, in the files a user writes properties in, in MSBuild's order:
/// Directory.Build.props (imported by the SDK's props, before the project body), then the project. The last definition wins in MSBuild, unless its Condition was false; conditions cannot be
/// evaluated here, but a definition whose literal value differs from the value MSBuild ended with cannot be the one it
/// used, so it is passed over. A definition built from other properties (<c>$(...)</c>) cannot be compared and is trusted.
/// </summary>
internal sealed class PropertyDefinitions(ProjectXml xml, string projectPath)
{
    private const string PropsFile = "Directory.Build.props";

    private IReadOnlyList<string>? _files;

    /// <summary>The element holding the definition MSBuild used, with its file; null when none of them can have set it.</summary>
    public (string File, XElement Element)? Find(string name, string? evaluatedValue)
    {
        _files ??= [.. Nearest(PropsFile), projectPath];
        foreach (var file in _files.Reverse())
        {
            if (xml.Load(file) is not { } document) continue;
            var used = ProjectXml.Named(document, name)
                .Where(e => string.Equals(e.Parent?.Name.LocalName, "PropertyGroup", StringComparison.OrdinalIgnoreCase))
                .LastOrDefault(e => CouldHaveProduced(e, evaluatedValue));
            if (used is not null) return (file, used);
        }
        return null;
    }

    private static bool CouldHaveProduced(XElement definition, string? evaluatedValue)
    {
        if (evaluatedValue is null || definition.HasElements) return true;
        var text = definition.Value.Trim();
        return text.Contains("$(", StringComparison.Ordinal) || text.Contains("%(", StringComparison.Ordinal) || text.Contains("@(", StringComparison.Ordinal)
               || string.Equals(text, evaluatedValue.Trim(), StringComparison.Ordinal);
    }

    /// <summary>MSBuild imports the first such file in the project's folder or above it.</summary>
    private IEnumerable<string> Nearest(string fileName)
    {
        for (var directory = Path.GetDirectoryName(projectPath); !string.IsNullOrEmpty(directory); directory = Path.GetDirectoryName(directory))
        {
            var candidate = Path.Combine(directory, fileName);
            if (File.Exists(candidate)) return [candidate];
        }
        return [];
    }
}
