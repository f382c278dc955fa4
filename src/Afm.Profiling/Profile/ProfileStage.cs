using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Measurement;
using Afm.Profiling.Reports;
using Afm.Core.Artifacts;

namespace Afm.Profiling.Profile;

/// <summary>The index the profile stage writes last: which devices it profiled (the SDK's declared output).</summary>
public sealed record ProfileIndex(IReadOnlyList<string> Devices, IReadOnlyList<string> Measured);

/// <summary>
/// The profile stage: for every &lt;DeviceProfile&gt;, <c>&lt;out&gt;/&lt;device&gt;/</c> with profile.json, profile.md,
/// profile-prefill.png, profile-decode.png and profile.html; the <c>host</c> profile is calibrated first.
/// </summary>
public static class ProfileStage
{
    public const string IndexFile = Afm.Core.Artifacts.StageLayout.Profile.Index;

    public static IReadOnlyList<Diagnostic> Run(ModelSpec spec, string outputDirectory, Action<string>? progress = null)
    {
        var warnings = new List<Diagnostic>();
        var arch = spec.Architecture;
        var measured = new List<string>();
        var form = Model.GraphForm.Of(spec);
        // The index is the stage's declared output: gone until every device is written, so a killed run re-runs.
        var indexPath = Path.Combine(outputDirectory, IndexFile);
        if (File.Exists(indexPath)) File.Delete(indexPath);
        foreach (var declared in spec.Devices)
        {
            var device = declared;
            var workload = ProfileBuilder.WorkloadFor(spec, device);
            if (workload.PromptTokens > arch.MaxSequenceLength || workload.ContextTokens > arch.MaxSequenceLength)
                throw ProfileDiagnostics.Error(ProfileDiagnostics.WorkloadExceedsContext,
                    $"Device profile '{device.Name}' costs a prompt of {workload.PromptTokens} and a context of {workload.ContextTokens} tokens, but the model serves at most MaxSequenceLength = {arch.MaxSequenceLength}. Lower PromptTokens/ContextTokens or raise MaxSequenceLength.",
                    device.Location);
            CalibrationInfo? calibration = null;
            if (device.Calibrate)
            {
                progress?.Invoke($"profile: calibrating {device.Name} with ONNX Runtime ({spec.Threads} threads)");
                (device, calibration) = HostCalibration.Calibrate(device, spec.Threads, arch, workload.PromptTokens, workload.ContextTokens, form);
                measured.Add(device.Name);
                progress?.Invoke($"profile: {device.Name} measured {calibration.MeasuredGFlops:0.#} GFLOP/s, {calibration.MeasuredBandwidthGBps:0.#} GB/s, {calibration.MeasuredLaunchOverheadUs:0.##} us per kernel");
            }
            var profile = ProfileBuilder.Build(spec.Name, arch, device, workload, calibration, form);
            var costs = new LayerCosts(profile);
            var baseline = costs.Totals(new Dictionary<string, WeightFormat>(), Phase.Decode);
            if (baseline.WeightBytes > device.MemoryGB * 1e9)
                warnings.Add(new Diagnostic(DiagnosticSeverity.Warning, ProfileDiagnostics.ModelExceedsDeviceMemory,
                    $"The weights take {baseline.WeightBytes / 1e9:0.###} GB in {profile.BaselineFormat}, more than the {device.MemoryGB:0.###} GB of device '{device.Name}'. Quantize them, or choose a device with more memory.",
                    device.Location ?? SourceLocation.FileOnly(spec.ProjectPath)));
            var folder = Path.Combine(outputDirectory, device.Name);
            AtomicOutput.ReplaceDirectory(folder, temp => WriteDevice(temp, profile));
            progress?.Invoke($"profile: {device.Name}: decode step {baseline.LatencyMs:0.###} ms, {baseline.EnergyMj:0.####} mJ in {profile.BaselineFormat}");
        }
        var index = new ProfileIndex(spec.Devices.Select(d => d.Name).ToList(), measured);
        AtomicOutput.WriteAllText(indexPath, JsonSerializer.Serialize(index, ProfileDocument.JsonOptions) + "\n");
        return warnings;
    }

    /// <summary>
    /// The index of a profile stage's folder (which devices it profiled, which were measured), read by every later
    /// stage that uses the profiles (quantize, package); null when the folder or its index is absent (no DeviceProfile).
    /// </summary>
    public static ProfileIndex? ReadIndex(string? profileDirectory)
    {
        if (string.IsNullOrEmpty(profileDirectory)) return null;
        var indexPath = Path.Combine(profileDirectory, IndexFile);
        return File.Exists(indexPath) ? JsonSerializer.Deserialize<ProfileIndex>(File.ReadAllText(indexPath), ProfileDocument.JsonOptions)! : null;
    }

    public static void WriteDevice(string folder, ProfileDocument profile)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ProfileDocument.FileName), profile.ToJson());
        File.WriteAllText(Path.Combine(folder, StageLayout.Profile.Device.Table), ProfileTable.Render(profile));
        File.WriteAllBytes(Path.Combine(folder, StageLayout.Profile.Device.PrefillChart), ProfileChart.RenderPng(profile, Phase.Prefill));
        File.WriteAllBytes(Path.Combine(folder, StageLayout.Profile.Device.DecodeChart), ProfileChart.RenderPng(profile, Phase.Decode));
        File.WriteAllText(Path.Combine(folder, StageLayout.Profile.Device.Page), WhatIfPage.Render(profile));
    }
}
