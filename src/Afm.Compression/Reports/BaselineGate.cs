using System.Globalization;
using Afm.Core.Diagnostics;

namespace Afm.Compression.Reports;

/// <summary>
/// The CI gate on a committed quantization report (AfmQuantizationBaseline): a build fails when the
/// effective bits per weight rise, or the quantized perplexity worsens, beyond the project's tolerances.
/// </summary>
public static class BaselineGate
{
    public const string BitsRose = "AFM4201";
    public const string PerplexityWorsened = "AFM4202";
    public const string BaselineMissing = "AFM4203";

    /// <param name="bitsTolerance">Absolute: bits per weight may rise by at most this much.</param>
    /// <param name="perplexityTolerance">Relative: perplexity may rise by at most this fraction of the baseline's.</param>
    public static IReadOnlyList<Diagnostic> Check(QuantizationReport current, QuantizationReport baseline, string baselinePath,
        double bitsTolerance, double perplexityTolerance)
    {
        var location = SourceLocation.FileOnly(baselinePath);
        var problems = new List<Diagnostic>();
        if (current.Totals.BitsPerWeight > baseline.Totals.BitsPerWeight + bitsTolerance)
            problems.Add(new Diagnostic(DiagnosticSeverity.Error, BitsRose, Invariant(
                $"Effective bits per weight rose from {baseline.Totals.BitsPerWeight:0.0000} (baseline) to {current.Totals.BitsPerWeight:0.0000}, more than the tolerance {bitsTolerance} (AfmBaselineBitsTolerance). Fix the regression, or accept it with -p:AfmUpdateBaseline=true."),
                location));
        double limit = baseline.Perplexity.Quantized * (1 + perplexityTolerance);
        if (current.Perplexity.Quantized > limit)
            problems.Add(new Diagnostic(DiagnosticSeverity.Error, PerplexityWorsened, Invariant(
                $"Quantized validation perplexity worsened from {baseline.Perplexity.Quantized:0.0000} (baseline) to {current.Perplexity.Quantized:0.0000}, beyond the tolerance of {perplexityTolerance:P1} (AfmBaselinePerplexityTolerance). Fix the regression, or accept it with -p:AfmUpdateBaseline=true."),
                location));
        return problems;
    }

    public static Diagnostic Missing(string baselinePath) => new(DiagnosticSeverity.Error, BaselineMissing,
        $"The quantization baseline '{baselinePath}' does not exist or is not a quantization report. Create it with -p:AfmUpdateBaseline=true and commit it.",
        SourceLocation.FileOnly(baselinePath));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
