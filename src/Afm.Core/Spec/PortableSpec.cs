using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Afm.Core.Diagnostics;

namespace Afm.Core.Spec;

/// <summary>
/// The spec as it goes into an artifact (specs/artifact.md): nothing that depends on where or by whom the project was
/// built. One serializer rule instead of a list of fields, so a field added to any spec record later cannot leak:
/// every <see cref="SourceLocation"/> is dropped, and every string that names an existing file or folder by an
/// absolute path is written relative to the project's folder (with '/' separators).
/// </summary>
public static class PortableSpec
{
    /// <summary>spec.json as the artifact carries it, written with <paramref name="options"/> (naming, enums) made portable.</summary>
    public static string Serialize(ModelSpec spec, JsonSerializerOptions options)
    {
        var projectDirectory = Path.GetDirectoryName(Path.GetFullPath(spec.ProjectPath))!;
        var text = JsonSerializer.Serialize(spec, OptionsFor(projectDirectory, options)) + "\n";
        // The rule above decides by value; this is the check that it decided right for every field there is.
        if (text.Contains(JsonEncodedText.Encode(projectDirectory, options.Encoder).ToString(), StringComparison.Ordinal))
            throw new InvalidOperationException($"The portable spec still names the project folder '{projectDirectory}'.");
        return text;
    }

    private static JsonSerializerOptions OptionsFor(string projectDirectory, JsonSerializerOptions options) => new(options)
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { info => MakePortable(info, projectDirectory) } },
    };

    private static void MakePortable(JsonTypeInfo info, string projectDirectory)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            var property = info.Properties[i];
            if (typeof(SourceLocation).IsAssignableFrom(Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType))
                info.Properties.RemoveAt(i);
            else if (property.PropertyType == typeof(string) && property.Get is { } getText)
                property.Get = owner => getText(owner) is string text ? Relative(text, projectDirectory) : null;
            else if (typeof(IEnumerable<string>).IsAssignableFrom(property.PropertyType) && property.Get is { } getList
                     && property.PropertyType.IsAssignableFrom(typeof(List<string>)))
                property.Get = owner => getList(owner) is IEnumerable<string> texts ? texts.Select(t => Relative(t, projectDirectory)).ToList() : null;
        }
    }

    /// <summary>An absolute path of something that exists, relative to the project; any other text as it is.</summary>
    private static string Relative(string text, string projectDirectory) =>
        Path.IsPathFullyQualified(text) && Path.GetPathRoot(text) != text && (File.Exists(text) || Directory.Exists(text))
            ? Path.GetRelativePath(projectDirectory, text).Replace('\\', '/')
            : text;
}
