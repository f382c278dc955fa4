using System.Text.RegularExpressions;
using Afm.Profiling.Formats;

namespace Afm.Profiling.Profile;

/// <summary>
/// The what-if settings of <c>afm profile --set pattern=format</c>. A pattern names a layer, every layer under
/// it (<c>layers.3.mlp</c> is gate, up and down), or uses <c>*</c> for any run of characters; later settings win.
/// </summary>
public static class FormatAssignment
{
    public static Dictionary<string, WeightFormat> Parse(IEnumerable<string> settings, IReadOnlyList<string> layers)
    {
        var assignment = new Dictionary<string, WeightFormat>(StringComparer.Ordinal);
        foreach (var setting in settings)
        {
            var parts = setting.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0)
                throw ProfileDiagnostics.Error(ProfileDiagnostics.UnknownFormat,
                    $"--set '{setting}' is not pattern=format. Write, for example, --set layers.3.mlp=2bit.");
            if (!WeightFormat.TryParse(parts[1], out var format))
                throw ProfileDiagnostics.Error(ProfileDiagnostics.UnknownFormat,
                    $"--set '{setting}': '{parts[1]}' is not a weight format. Write fp32, fp16, int8, or a palettized width such as 4bit, 3bit, 2bit.");
            var matched = layers.Where(l => Matches(parts[0], l)).ToList();
            if (matched.Count == 0)
                throw ProfileDiagnostics.Error(ProfileDiagnostics.PatternMatchesNoLayer,
                    $"--set '{setting}': '{parts[0]}' names no layer. Layers: {string.Join(", ", layers)}.");
            foreach (var layer in matched) assignment[layer] = format;
        }
        return assignment;
    }

    public static bool Matches(string pattern, string layer)
    {
        if (pattern.Contains('*'))
            return Regex.IsMatch(layer, "^" + string.Join(".*", pattern.Split('*').Select(Regex.Escape)) + "$", RegexOptions.CultureInvariant);
        return layer == pattern || layer.StartsWith(pattern + ".", StringComparison.Ordinal);
    }
}
