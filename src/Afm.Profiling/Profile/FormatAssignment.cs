using System.Text.RegularExpressions;
using Afm.Profiling.Formats;

namespace Afm.Profiling.Profile;

/// <summary>
/// The what-if settings of <c>afm profile --set pattern=format</c>. A pattern names a layer, every layer under
/// it (<c>layers.3.mlp</c> is gate, up and down), or uses <c>*</c> for any run of characters; later settings win.
/// </summary>
public static class FormatAssignment
{
    public static Dictionary<string, WeightFormat> Parse(IEnumerable<string> settings, IReadOnlyList<string> layers) => Parse(settings, layers, null);

    /// <param name="tabulated">The formats the profile costs (<see cref="ProfileDocument.Formats"/>): another is AFM5107 (nbits
    /// formats only in a profile of a graph that runs weights resident).</param>
    public static Dictionary<string, WeightFormat> Parse(IEnumerable<string> settings, IReadOnlyList<string> layers, IReadOnlyList<string>? tabulated)
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
                    $"--set '{setting}': '{parts[1]}' is not a weight format. Write fp32, fp16, int8, a palettized width such as 4bit, 3bit, 2bit, or (in a profile of a RuntimeForm=\"nbits\" graph) nbits4, nbits2, nbits8.");
            if (tabulated is not null && !tabulated.Contains(format.Name, StringComparer.Ordinal))
                throw ProfileDiagnostics.Error(ProfileDiagnostics.FormatNotProfiled,
                    $"--set '{setting}': this profile does not cost {format.Name}; it tabulates {string.Join(", ", tabulated)}. " +
                    "The MatMulNBits formats (nbits4, nbits2, nbits8) are costed only for a project whose QuantizationPlan has RuntimeForm=\"nbits\".");
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
