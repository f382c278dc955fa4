using System.Globalization;
using System.Text.RegularExpressions;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the data-cleaning metadata of file items: <c>NearDuplicateThreshold</c> on a Corpus,
/// <c>DecontaminationNGrams</c> and <c>CommonNGramThreshold</c> on an EvalSet. Kept apart from
/// <see cref="FileSetReader"/> (which says which files make a set) because these say what the data stage does
/// with the documents. Items with the same Name must agree (AFM1304), as for Format.
/// </summary>
internal static partial class DataCleaningReader
{
    public static readonly string[] CorpusMetadata = ["NearDuplicateThreshold"];
    public static readonly string[] EvalSetMetadata = ["DecontaminationNGrams", "CommonNGramThreshold"];

    /// <summary>Longest n-gram accepted: longer ones only find copies the whole-document check finds anyway.</summary>
    public const int MaxNGram = 64;

    private static readonly (Func<double, bool> Test, string Text) UnitInterval = (v => v > 0 && v <= 1, "greater than 0 and at most 1");

    [GeneratedRegex(@"^\s*(?<min>\d+)\s*(?:-\s*(?<max>\d+)\s*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex NGramRange();

    public static DataCleaning Read(SpecContext context)
    {
        var nearDuplicates = new Dictionary<string, (double Value, ItemView Item)>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in context.Items("Corpus", namedByMetadata: true))
        {
            if (item.Get("Name")?.Text is not { } name || item.Get("NearDuplicateThreshold") is not { } raw) continue;
            if (context.Double(raw, UnitInterval) is not { } threshold) continue;
            Agree(context, nearDuplicates, name, threshold, item, "NearDuplicateThreshold");
        }

        var ranges = new Dictionary<string, ((int Min, int Max) Value, ItemView Item)>(StringComparer.OrdinalIgnoreCase);
        var common = new Dictionary<string, (int Value, ItemView Item)>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in context.Items("EvalSet", namedByMetadata: true))
        {
            var name = item.Get("Name")?.Text ?? "eval";
            if (item.Get("DecontaminationNGrams") is { } rawRange && ReadRange(context, rawRange) is { } range)
                Agree(context, ranges, name, range, item, "DecontaminationNGrams");
            if (item.Get("CommonNGramThreshold") is { } rawCommon && context.Int(rawCommon, SpecContext.Positive) is { } threshold)
                Agree(context, common, name, threshold, item, "CommonNGramThreshold");
        }
        return new DataCleaning(
            nearDuplicates.ToDictionary(p => p.Key, p => p.Value.Value, StringComparer.OrdinalIgnoreCase),
            ranges.ToDictionary(p => p.Key, p => p.Value.Value, StringComparer.OrdinalIgnoreCase),
            common.ToDictionary(p => p.Key, p => p.Value.Value, StringComparer.OrdinalIgnoreCase));
    }

    private static (int Min, int Max)? ReadRange(SpecContext context, RawValue value)
    {
        var match = NGramRange().Match(value.Text);
        if (match.Success
            && int.TryParse(match.Groups["min"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var min)
            && int.TryParse(match.Groups["max"].Success ? match.Groups["max"].Value : match.Groups["min"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var max)
            && min >= 1 && min <= max && max <= MaxNGram)
            return (min, max);
        context.Error(DiagnosticCodes.InvalidNGramRange, value.Location,
            $"{value.What} is '{value.Text}'; write one n-gram length or a range of word counts 'min-max' with 1 <= min <= max <= {MaxNGram}, such as \"4-13\" or \"13\".");
        return null;
    }

    private static void Agree<T>(SpecContext context, Dictionary<string, (T Value, ItemView Item)> seen, string name, T value, ItemView item, string setting)
    {
        if (!seen.TryGetValue(name, out var first))
        {
            seen[name] = (value, item);
            return;
        }
        if (EqualityComparer<T>.Default.Equals(first.Value, value)) return;
        context.Error(DiagnosticCodes.ConflictingFileSetSettings, item.Get(setting)!.Value.Location,
            $"{item.Describe} has {setting} '{item.Get(setting)!.Value.Text}', but an earlier {item.Type} named '{name}' (at {first.Item.Location}) has '{first.Item.Get(setting)!.Value.Text}'. "
            + $"Files of one {item.Type} are cleaned the same way: give this item another Name, or set {setting} to match.");
    }
}

/// <summary>The data-cleaning settings read, by corpus / eval set name; unset ones keep the spec defaults.</summary>
internal sealed record DataCleaning(
    IReadOnlyDictionary<string, double> NearDuplicateThresholds,
    IReadOnlyDictionary<string, (int Min, int Max)> NGramRanges,
    IReadOnlyDictionary<string, int> CommonNGramThresholds)
{
    public ModelSpec Apply(ModelSpec spec) => spec with
    {
        Corpora = spec.Corpora.Select(c => NearDuplicateThresholds.TryGetValue(c.Name, out var t) ? c with { NearDuplicateThreshold = t } : c).ToList(),
        EvalSets = spec.EvalSets.Select(e =>
        {
            if (NGramRanges.TryGetValue(e.Name, out var range))
                e = e with { DecontaminationMinN = range.Min, DecontaminationMaxN = range.Max };
            return CommonNGramThresholds.TryGetValue(e.Name, out var common) ? e with { CommonNGramThreshold = common } : e;
        }).ToList(),
    };
}
