using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Afm.Compression.Tests;

/// <summary>
/// A report compared with its committed snapshot (<c>__snapshots__/&lt;Class&gt;.&lt;Method&gt;[_name].snap</c>): every
/// character outside numbers must be equal, and every number must agree to within a few parts in a thousand (or 1e-3
/// absolutely). The quantization reports hold measurements of a trained micro model, and their last digits differ
/// between CPUs (an AMD EPYC and an Intel Xeon with AVX-512 gave 0.69621 and 0.69624 in portable determinism; issue #17
/// owns that), while what this test guards is the report's content: its fields, its decisions (bits per layer, names,
/// counts) and its numbers to about three digits (a loss difference near zero moved from -0.00030 to -0.00075 between those CPUs, hence the absolute term). A mismatch writes the actual text to <c>__snapshots__/__mismatch__/</c>.
/// </summary>
internal static partial class ReportSnapshot
{
    private const double Relative = 5e-3;
    private const double Absolute = 1e-3;

    public static void Match(object report, string? name = null, [CallerFilePath] string testFile = "", [CallerMemberName] string test = "") =>
        Match(report is string text ? text : Newtonsoft.Json.JsonConvert.SerializeObject(report, Newtonsoft.Json.Formatting.Indented), name, testFile, test);

    private static void Match(string actual, string? name, string testFile, string test)
    {
        var directory = Path.Combine(Path.GetDirectoryName(testFile)!, "__snapshots__");
        var file = $"{Path.GetFileNameWithoutExtension(testFile)}.{test}{(name is null ? "" : "_" + name)}.snap";
        var path = Path.Combine(directory, file);
        actual = actual.Replace("\r\n", "\n").TrimEnd();
        var difference = "";
        if (File.Exists(path) && Agree(File.ReadAllText(path).Replace("\r\n", "\n").TrimStart('\uFEFF').TrimEnd(), actual, out difference))
            return;
        var mismatch = Path.Combine(directory, "__mismatch__", file);
        Directory.CreateDirectory(Path.GetDirectoryName(mismatch)!);
        File.WriteAllText(mismatch, actual);
        Assert.Fail(File.Exists(path)
            ? $"The report differs from {path}: {difference}. The actual report is in {mismatch}."
            : $"No snapshot {path} yet; the actual report is in {mismatch}: review it and move it there.");
    }

    /// <summary>True when the texts are equal outside numbers and each pair of numbers is within the tolerance.</summary>
    internal static bool Agree(string expected, string actual, out string difference)
    {
        var expectedParts = Number().Split(expected);
        var actualParts = Number().Split(actual);
        var expectedNumbers = Number().Matches(expected);
        var actualNumbers = Number().Matches(actual);
        if (expectedParts.Length != actualParts.Length)
        {
            difference = $"{expectedNumbers.Count} numbers expected, {actualNumbers.Count} found";
            return false;
        }
        for (var i = 0; i < expectedParts.Length; i++)
            if (expectedParts[i] != actualParts[i])
            {
                difference = $"text '{Clip(expectedParts[i])}' became '{Clip(actualParts[i])}'";
                return false;
            }
        for (var i = 0; i < expectedNumbers.Count; i++)
        {
            var (e, a) = (Parse(expectedNumbers[i].Value), Parse(actualNumbers[i].Value));
            if (Math.Abs(e - a) > Relative * Math.Max(Math.Abs(e), Math.Abs(a)) + Absolute)
            {
                difference = $"number {i + 1} was {expectedNumbers[i].Value}, is {actualNumbers[i].Value}";
                return false;
            }
        }
        difference = "";
        return true;
    }

    private static double Parse(string number) => double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string Clip(string text) => text.Length <= 60 ? text : text[..60] + "…";

    // A decimal number with optional sign, fraction and exponent; digits inside words (layers.0, q8_0) are text.
    [GeneratedRegex(@"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")]
    private static partial Regex Number();
}
