using System.CommandLine;
using Afm.Cli.Compilation;
using System.Text.Json;
using Afm.Compression;
using Afm.Compression.Allocation;
using Afm.Compression.Reports;
using Afm.Compression.Storage;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Data.Packing;
using Afm.Profiling.Profile;
using Afm.Core.Artifacts;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm quantize</c>: palettize the trained weights by the project's QuantizationPlan (specs/quantization.md).
/// Writes <c>model.safetensors</c> (the quantized weights), <c>report.json</c>, <c>report.md</c> and <c>bits.png</c>.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var data = StageOptions.Data();
        var train = StageOptions.Train();
        var output = StageOptions.Out("Quantize folder: quantized weights and the quantization report.");
        var profile = new Option<string?>("--profile") { Description = "The profile folder written by `afm profile --spec` (device costs for budgets and the report); optional." };
        var command = new Command("quantize", "Quantize the trained model by its QuantizationPlan.") { spec, data, train, output, profile };
        command.SetAction(result => CompilerRun.Guard(() =>
            Run(result.GetValue(spec)!, result.GetValue(data)!, result.GetValue(train)!, result.GetValue(output)!, result.GetValue(profile))));
        return command;
    }

    private static int Run(string specPath, string dataDirectory, string trainDirectory, string outputDirectory, string? profileDirectory)
    {
        var spec = SpecFile.Load(specPath);
        if (spec.Quantization is null)
        {
            // No plan: the artifact is the float model. Clear what an earlier plan left so nothing stale is packaged.
            if (Directory.Exists(outputDirectory)) Directory.Delete(outputDirectory, recursive: true);
            CompilerOutput.Progress("quantize: the project has no QuantizationPlan; nothing to do");
            return 0;
        }
        var lastStage = spec.CalibrationStage!.Name;
        using var calibration = PackedSequences.Open(dataDirectory, lastStage, DataSplit.Train);
        using var validation = PackedSequences.Open(dataDirectory, lastStage, DataSplit.Validation);
        var devices = DeviceProfiles(profileDirectory);
        var result = QuantizationPipeline.Run(new QuantizationInputs(spec, Path.Combine(trainDirectory, StageLayout.Train.Weights), calibration, validation,
            Devices: devices), CompilerOutput.Progress);
        foreach (var warning in result.Warnings) CompilerOutput.Report(warning);

        var report = result.Report;
        string title = $"{spec.Name} {spec.Version}";
        AtomicOutput.ReplaceDirectory(outputDirectory, temp =>
        {
            QuantizedWeightsFile.Write(Path.Combine(temp, StageLayout.Quantize.Weights), result.Weights, result.Metadata);
            File.WriteAllText(Path.Combine(temp, StageLayout.Quantize.ReportMarkdown), ReportMarkdown.Render(title, report));
            File.WriteAllBytes(Path.Combine(temp, StageLayout.Quantize.Chart), ReportChart.RenderPng(title, report));
            File.WriteAllText(Path.Combine(temp, StageLayout.Quantize.Report), SpecFile.Serialize(report));
        });
        foreach (var d in report.Devices.Where(d => d.Budget))
            CompilerOutput.Progress($"quantize: {d.Name}: decode step {d.Quantized.LatencyMs:0.######} ms, {d.Quantized.EnergyMj:0.######} mJ (float {d.Float.LatencyMs:0.######} ms, {d.Float.EnergyMj:0.######} mJ)");
        var t = report.Totals;
        CompilerOutput.Progress($"quantize: {t.BitsPerWeight:0.000} bits/weight ({t.WeightBytes:N0} bytes), perplexity float {report.Perplexity.Float:0.00} -> " +
            $"quantized {report.Perplexity.Quantized:0.00}" + (report.Perplexity.UniformBaseline is double u ? $" (uniform baseline {u:0.00})" : ""));
        return 0;
    }

    /// <summary>Every device the profile stage wrote (its index names them), in declaration order.</summary>
    private static IReadOnlyList<DeviceCosts> DeviceProfiles(string? profileDirectory)
    {
        if (string.IsNullOrEmpty(profileDirectory)) return [];
        var indexPath = Path.Combine(profileDirectory, ProfileStage.IndexFile);
        if (!File.Exists(indexPath)) return [];
        var index = JsonSerializer.Deserialize<ProfileIndex>(File.ReadAllText(indexPath), ProfileDocument.JsonOptions)!;
        return index.Devices.Select(d => DeviceCosts.Load(Path.Combine(profileDirectory, d, ProfileDocument.FileName))).ToList();
    }
}
