using System.CommandLine;
using System.Globalization;

namespace Afm.Cli.Commands;

/// <summary>
/// Checks on option values that System.CommandLine runs while parsing, so a value that can only fail later (a file
/// that is not there, a count below 1, a scale of NaN) is a usage error naming the option (exit code 2, see
/// <see cref="Program"/>) before any work starts, never an internal error from deep inside a stage.
/// </summary>
internal static class OptionRules
{
    public static Option<string> ExistingFile(this Option<string> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } path && !File.Exists(path))
                result.AddError(Directory.Exists(path) ? $"{option.Name} names a folder, '{path}'; it needs a file." : $"{option.Name}: there is no file '{path}'.");
        });
        return option;
    }

    public static Option<string> ExistingDirectory(this Option<string> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } path && !Directory.Exists(path))
                result.AddError(File.Exists(path) ? $"{option.Name} names a file, '{path}'; it needs a folder." : $"{option.Name}: there is no folder '{path}'.");
        });
        return option;
    }

    public static Option<int> AtLeast(this Option<int> option, int minimum)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is var value && value < minimum)
                result.AddError($"{option.Name} must be {minimum} or more, got {value}.");
        });
        return option;
    }

    public static Option<long> AtLeast(this Option<long> option, long minimum)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() is var value && value < minimum)
                result.AddError($"{option.Name} must be {minimum} or more, got {value}.");
        });
        return option;
    }

    /// <summary>
    /// Parses the number with '.' as the decimal point whatever the machine's culture, as the project file and the docs
    /// write numbers: System.CommandLine uses the current culture, so under de-DE "--temperature 0.8" ran at 8.
    /// </summary>
    public static Option<double> Invariant(this Option<double> option)
    {
        option.CustomParser = result =>
        {
            if (result.Tokens.Count == 0) return option.DefaultValueFactory is { } defaultValue ? defaultValue(result) : default;
            var text = result.Tokens[^1].Value;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return value;
            result.AddError($"{option.Name} must be a number written with '.' (e.g. 0.8), got '{text}'.");
            return default;
        };
        return option;
    }

    /// <summary>A finite number in (exclusiveMinimum, maximum]: the parser takes "NaN", "Infinity" and "1e308" as doubles.</summary>
    public static Option<double> Within(this Option<double> option, double exclusiveMinimum, double maximum)
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<double>();
            if (!(value > exclusiveMinimum && value <= maximum))
                result.AddError($"{option.Name} must be a number above {exclusiveMinimum} and at most {maximum}, got {value.ToString(CultureInfo.InvariantCulture)}.");
        });
        return option;
    }

    /// <summary>
    /// A number written with '.' whatever the machine's culture, kept as text for the command to parse the same way;
    /// finite and at least <paramref name="minimum"/>.
    /// </summary>
    public static Option<string> InvariantNumber(this Option<string> option, double minimum)
    {
        option.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string>();
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || value < minimum)
                result.AddError($"{option.Name} must be a number of at least {minimum} written with '.' (e.g. 0.01), got '{text}'.");
        });
        return option;
    }
}
