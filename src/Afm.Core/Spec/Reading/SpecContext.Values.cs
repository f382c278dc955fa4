using System.Globalization;
using System.Text.RegularExpressions;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// Typed reading of raw values. Each method reports what is wrong (unparsable: AFM1002/AFM1004, out of
/// range: AFM1003) and returns null, so the caller just skips what depends on the value.
/// Numbers use the invariant culture: a project must mean the same thing on every machine.
/// </summary>
internal sealed partial class SpecContext
{
    public static readonly (Func<double, bool> Test, string Text) Positive = (v => v > 0, "greater than 0");
    public static readonly (Func<double, bool> Test, string Text) NonNegative = (v => v >= 0, "0 or more");

    public int? Int(RawValue value, (Func<double, bool> Test, string Text) range)
    {
        if (!IsWholeNumber(value.Text, out var parsed))
        {
            Error(DiagnosticCodes.InvalidNumber, value.Location,
                $"{value.What} is '{value.Text}', which is not a whole number. Write digits only, such as 256.");
            return null;
        }
        if (!InRange(value, parsed, range)) return null;
        if (parsed > int.MaxValue)
        {
            OutOfRange(value, $"at most {int.MaxValue}");
            return null;
        }
        return (int)parsed;
    }

    public long? Long(RawValue value, (Func<double, bool> Test, string Text) range)
    {
        if (!IsWholeNumber(value.Text, out var parsed))
        {
            Error(DiagnosticCodes.InvalidNumber, value.Location,
                $"{value.What} is '{value.Text}', which is not a whole number. Write digits only, such as 1234.");
            return null;
        }
        return InRange(value, parsed, range) ? parsed : null;
    }

    /// <summary>
    /// Digits only, as afmproj.md says; a leading '-' is parsed so that a negative value is told it is out of range
    /// rather than unparsable, but '+1' (which long.TryParse takes) is not a count anyone means to write.
    /// </summary>
    private static bool IsWholeNumber(string text, out long parsed)
    {
        parsed = 0;
        var digits = text.StartsWith('-') ? text[1..] : text;
        return digits.Length > 0 && digits.All(char.IsAsciiDigit)
               && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out parsed);
    }

    public double? Double(RawValue value, (Func<double, bool> Test, string Text) range)
    {
        // TryParse accepts "NaN" and "Infinity", which no setting of ours means.
        if (!double.TryParse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) || !double.IsFinite(parsed))
        {
            Error(DiagnosticCodes.InvalidNumber, value.Location,
                $"{value.What} is '{value.Text}', which is not a number. Write a number with '.' as the decimal point, such as 0.05 or 3e-4.");
            return null;
        }
        return InRange(value, parsed, range) ? parsed : null;
    }

    /// <summary>
    /// A keyword metadata (case-insensitive) mapped to its value; absent means <paramref name="defaultValue"/>,
    /// anything else is reported under <paramref name="code"/> with the keywords that are accepted.
    /// </summary>
    public T? Choice<T>(ItemView item, string name, T defaultValue, string code, params (string Text, T Value)[] choices)
        where T : struct =>
        item.Get(name) is { } value ? Choice(value, code, choices) : defaultValue;

    /// <summary>A keyword value (case-insensitive) mapped to its choice, or reported under <paramref name="code"/> with the accepted keywords.</summary>
    public T? Choice<T>(RawValue value, string code, params (string Text, T Value)[] choices)
        where T : struct
    {
        foreach (var (text, choice) in choices)
            if (string.Equals(text, value.Text, StringComparison.OrdinalIgnoreCase)) return choice;
        var accepted = choices.Length == 1 ? choices[0].Text
            : string.Join(", ", choices[..^1].Select(c => c.Text)) + " or " + choices[^1].Text;
        Error(code, value.Location, $"{value.What} is '{value.Text}'; write {accepted}.");
        return null;
    }

    public bool? Bool(RawValue value)
    {
        if (bool.TryParse(value.Text, out var parsed)) return parsed;
        Error(DiagnosticCodes.InvalidBoolean, value.Location, $"{value.What} is '{value.Text}'; write true or false.");
        return null;
    }

    private static readonly Regex TokenCountSyntax = new(@"^(?<number>\d+(?:\.\d+)?)(?<suffix>[kKmMgG]?)$", RegexOptions.CultureInvariant);

    /// <summary>A count of tokens: 12000, 300k, 4M, 1.5G (k/M/G = 1e3/1e6/1e9, any case), positive and whole.</summary>
    public long? TokenCount(RawValue value)
    {
        var match = TokenCountSyntax.Match(value.Text);
        if (!match.Success || !decimal.TryParse(match.Groups["number"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            Error(DiagnosticCodes.InvalidNumber, value.Location,
                $"{value.What} is '{value.Text}', which is not a token count. Write a count such as 12000, 300k, 4M or 1.5G.");
            return null;
        }
        var scale = char.ToLowerInvariant(match.Groups["suffix"].Value.FirstOrDefault()) switch
        {
            'k' => 1_000m, 'm' => 1_000_000m, 'g' => 1_000_000_000m, _ => 1m,
        };
        // Checked before scaling: a long enough digit string would overflow even decimal.
        var tokens = number > long.MaxValue ? decimal.MaxValue : number * scale;
        if (tokens <= 0 || tokens != decimal.Truncate(tokens) || tokens > long.MaxValue)
        {
            OutOfRange(value, "a positive whole number of tokens");
            return null;
        }
        return (long)tokens;
    }

    private bool InRange(RawValue value, double parsed, (Func<double, bool> Test, string Text) range)
    {
        if (range.Test(parsed)) return true;
        OutOfRange(value, range.Text);
        return false;
    }

    private void OutOfRange(RawValue value, string mustBe) =>
        Error(DiagnosticCodes.NumberOutOfRange, value.Location, $"{value.What} is {value.Text}, but it must be {mustBe}.");
}
