using System.Text.RegularExpressions;

namespace Afm.Compression.Allocation;

/// <summary>
/// Layer names are weight names without ".weight" (<c>embed</c>, <c>layers.0.attn.q_proj</c>, <c>lm_head</c>);
/// patterns use <c>*</c> for any run of characters and match the whole name, case-sensitively (names are ours).
/// </summary>
public static class LayerPatterns
{
    public static string LayerName(string weightName) =>
        weightName.EndsWith(".weight", StringComparison.Ordinal) ? weightName[..^".weight".Length] : weightName;

    public static bool Matches(string pattern, string layerName) =>
        Regex.IsMatch(layerName, "^" + string.Join(".*", pattern.Split('*').Select(Regex.Escape)) + "$", RegexOptions.CultureInvariant);
}
