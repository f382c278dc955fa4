using Afm.Compression.Allocation;
using Afm.Compression.Reports;
using Afm.Compression.Storage;
using Afm.Core.Artifacts;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Profiling.Profile;

namespace Afm.Compression;

/// <summary>
/// The quantize stage (<c>afm quantize</c>, target AfmQuantize): palettizes the train stage's weights by the project's
/// QuantizationPlan (<see cref="QuantizationPipeline"/>) and writes its folder (StageLayout.Quantize) as a whole: the
/// quantized weights, the report (json, markdown, chart). Without a plan the folder is removed, so nothing an earlier
/// plan left is packaged.
/// </summary>
public static class QuantizeStage
{
    /// <param name="spec">The validated spec.</param>
    /// <param name="dataDirectory">The data stage's folder: the last training stage's train split calibrates, its validation split measures.</param>
    /// <param name="trainDirectory">The train stage's folder (the float weights).</param>
    /// <param name="profileDirectory">The profile stage's folder (device costs for budgets and the report); null or absent: none.</param>
    /// <param name="outputDirectory">The quantize stage's folder.</param>
    /// <param name="progress">Progress lines (the compiler prints them for the build).</param>
    /// <returns>The warnings of the plan (e.g. AFM4103, a pattern that names no layer), for the caller to report.</returns>
    public static IReadOnlyList<Diagnostic> Run(ModelSpec spec, string dataDirectory, string trainDirectory, string? profileDirectory,
        string outputDirectory, Action<string> progress)
    {
        if (spec.Quantization is null)
        {
            if (Directory.Exists(outputDirectory)) Directory.Delete(outputDirectory, recursive: true);
            progress("quantize: the project has no QuantizationPlan; nothing to do");
            return [];
        }
        var lastStage = spec.CalibrationStage!.Name;
        using var calibration = PackedSequences.Open(dataDirectory, lastStage, DataSplit.Train);
        using var validation = PackedSequences.Open(dataDirectory, lastStage, DataSplit.Validation);
        var devices = ProfileStage.ReadIndex(profileDirectory) is { } index
            ? index.Devices.Select(d => DeviceCosts.Load(Path.Combine(profileDirectory!, d, StageLayout.Profile.Device.Profile))).ToList()
            : [];
        var result = QuantizationPipeline.Run(new QuantizationInputs(spec, Path.Combine(trainDirectory, StageLayout.Train.Weights), calibration, validation,
            Devices: devices), progress);

        var report = result.Report;
        string title = $"{spec.Name} {spec.Version}";
        AtomicOutput.ReplaceDirectory(outputDirectory, temp =>
        {
            QuantizedWeightsFile.Write(Path.Combine(temp, StageLayout.Quantize.Weights), result.Weights, result.Metadata);
            File.WriteAllText(Path.Combine(temp, StageLayout.Quantize.ReportMarkdown), ReportMarkdown.Render(title, report));
            File.WriteAllBytes(Path.Combine(temp, StageLayout.Quantize.Chart), ReportChart.RenderPng(title, report));
            File.WriteAllText(Path.Combine(temp, StageLayout.Quantize.Report), SpecJson.Serialize(report));
        });
        foreach (var d in report.Devices.Where(d => d.Budget))
            progress($"quantize: {d.Name}: decode step {d.Quantized.LatencyMs:0.######} ms, {d.Quantized.EnergyMj:0.######} mJ (float {d.Float.LatencyMs:0.######} ms, {d.Float.EnergyMj:0.######} mJ)");
        var t = report.Totals;
        progress($"quantize: {t.BitsPerWeight:0.000} bits/weight ({t.WeightBytes:N0} bytes), perplexity float {report.Perplexity.Float:0.00} -> " +
            $"quantized {report.Perplexity.Quantized:0.00}" + (report.Perplexity.UniformBaseline is double u ? $" (uniform baseline {u:0.00})" : ""));
        return result.Warnings;
    }
}
