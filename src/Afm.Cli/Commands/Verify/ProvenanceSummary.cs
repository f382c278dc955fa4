using Afm.Core.Artifacts;
using System.Text.Json;
using Afm.Packaging;

namespace Afm.Cli.Commands.Verify;

/// <summary>One line about an artifact's provenance.json for `afm verify`: who built it, from how many inputs, with which parameters.</summary>
internal static class ProvenanceSummary
{
    public static string Describe(string artifactDirectory)
    {
        var path = Path.Combine(artifactDirectory, ArtifactLayout.Provenance);
        if (!File.Exists(path)) return "provenance: none (packaged before provenance.json existed)";
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var predicate = root.GetProperty("predicate");
            var definition = predicate.GetProperty("buildDefinition");
            var parameters = definition.GetProperty("externalParameters");
            var builder = predicate.GetProperty("runDetails").GetProperty("builder");
            var roles = definition.GetProperty("resolvedDependencies").EnumerateArray()
                .Select(d => d.TryGetProperty("annotations", out var a) && a.TryGetProperty("role", out var r) ? r.GetString()! : "toolchain")
                .GroupBy(r => r).Select(g => $"{g.Count()} {g.Key}");
            return $"provenance: {root.GetProperty("predicateType").GetString()}, builder {builder.GetProperty("id").GetString()} " +
                $"({builder.GetProperty("version").GetProperty("AfmToolchain").GetString()}); {root.GetProperty("subject").GetArrayLength()} subjects; " +
                $"inputs: {string.Join(", ", roles)}; project {parameters.GetProperty("project").GetString()}, " +
                $"seed {parameters.GetProperty("seed").GetRawText()}, threads {parameters.GetProperty("threads").GetRawText()}";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // The file passed its hash check, so it is what the builder wrote: an older or foreign statement format.
            return $"provenance: present, but not in the format this afm reads ({e.Message})";
        }
    }
}
