using System.Text.Json;

namespace Afm.Runtime.Artifacts;

/// <summary>Walks two JSON documents side by side and lists each scalar that differs by its JSONPath (<c>$.stages[1].loss</c>).</summary>
internal static class JsonValueDiff
{
    public static void Collect(string path, JsonElement before, JsonElement after, List<ArtifactDiff.ValueChange> changes)
    {
        if (before.ValueKind == JsonValueKind.Object && after.ValueKind == JsonValueKind.Object)
        {
            var newProperties = after.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in before.EnumerateObject())
            {
                seen.Add(property.Name);
                var child = $"{path}.{property.Name}";
                if (newProperties.TryGetValue(property.Name, out var value)) Collect(child, property.Value, value, changes);
                else changes.Add(new(child, Show(property.Value), "(absent)"));
            }
            foreach (var (name, value) in newProperties.Where(p => !seen.Contains(p.Key)))
                changes.Add(new($"{path}.{name}", "(absent)", Show(value)));
        }
        else if (before.ValueKind == JsonValueKind.Array && after.ValueKind == JsonValueKind.Array)
        {
            int oldLength = before.GetArrayLength(), newLength = after.GetArrayLength();
            for (int i = 0; i < Math.Min(oldLength, newLength); i++) Collect($"{path}[{i}]", before[i], after[i], changes);
            if (oldLength != newLength) changes.Add(new($"{path}.length", oldLength.ToString(), newLength.ToString()));
        }
        else if (before.ValueKind != after.ValueKind || before.GetRawText() != after.GetRawText())
            changes.Add(new(path, Show(before), Show(after)));
    }

    /// <summary>A scalar as written; an object or array as its kind, since its members are listed on their own.</summary>
    private static string Show(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "{…}",
        JsonValueKind.Array => $"[{value.GetArrayLength()} items]",
        JsonValueKind.String => Truncate(value.GetRawText()),
        _ => value.GetRawText(),
    };

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..77] + "…\"";
}
