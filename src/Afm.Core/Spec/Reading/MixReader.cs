using System.Globalization;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads a stage's Mix (<c>web=0.8;code=0.2</c>): which corpora it samples and how often. Weights are
/// relative and normalized to sum 1; entries are sorted by corpus name so equal mixes compare equal.
/// </summary>
internal static class MixReader
{
    /// <param name="corpusGaps">Corpora already reported as broken: a Mix naming one is not reported again.</param>
    public static IReadOnlyList<MixEntry>? Read(SpecContext context, RawValue mix, IReadOnlyList<FileSet> corpora, FileSetGaps corpusGaps)
    {
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        var valid = true;
        foreach (var entry in mix.Text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split('=', StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var weight) || !double.IsFinite(weight))
            {
                context.Error(DiagnosticCodes.InvalidMixSyntax, mix.Location,
                    $"{mix.What} has entry '{entry}', which is not name=weight. Write corpus names with weights separated by ';', such as Mix=\"web=0.8;code=0.2\".");
                valid = false;
                continue;
            }
            // Mix names the corpus as declared; matching ignores case like every MSBuild name.
            var corpus = corpora.FirstOrDefault(c => string.Equals(c.Name, parts[0], StringComparison.OrdinalIgnoreCase));
            if (corpus is null && (corpora.Count == 0 || corpusGaps.Explains(parts[0]))) valid = false;
            else if (corpus is null)
            {
                context.Error(DiagnosticCodes.MixUnknownCorpus, mix.Location,
                    $"{mix.What} names corpus '{parts[0]}', which no <Corpus Name=\"...\"> declares (declared: {string.Join(", ", corpora.Select(c => c.Name))}). Fix the name or declare the corpus.");
                valid = false;
            }
            else if (weight <= 0)
            {
                context.Error(DiagnosticCodes.MixNonPositiveWeight, mix.Location,
                    $"{mix.What} gives corpus '{parts[0]}' weight {parts[1]}, but weights must be greater than 0. Remove the entry to leave the corpus out.");
                valid = false;
            }
            else if (!weights.TryAdd(corpus.Name, weight))
            {
                context.Error(DiagnosticCodes.MixDuplicateCorpus, mix.Location,
                    $"{mix.What} names corpus '{corpus.Name}' more than once; give each corpus one weight.");
                valid = false;
            }
        }
        if (valid && weights.Count == 0)
        {
            context.Error(DiagnosticCodes.InvalidMixSyntax, mix.Location,
                $"{mix.What} names no corpus. Write such as Mix=\"web=0.8;code=0.2\", or remove Mix to sample every corpus.");
            valid = false;
        }
        return valid ? Normalize(weights) : null;
    }

    /// <summary>
    /// Without a Mix a stage samples every corpus in proportion to its size on disk, as if all the data
    /// were one corpus; that needs no tuning and never over-samples a small corpus. Corpora that are all
    /// empty (the data stage reports AFM2002) fall back to equal weights.
    /// </summary>
    public static IReadOnlyList<MixEntry> Default(IReadOnlyList<FileSet> corpora)
    {
        var total = corpora.Sum(c => c.Bytes);
        return Normalize(corpora.ToDictionary(c => c.Name, c => total > 0 ? (double)c.Bytes : 1.0, StringComparer.Ordinal));
    }

    private static List<MixEntry> Normalize(Dictionary<string, double> weights)
    {
        var sum = weights.Values.Sum();
        return weights.Where(w => w.Value > 0).OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => new MixEntry(w.Key, w.Value / sum)).ToList();
    }
}
