using System.CommandLine;
using Afm.Core.Artifacts;
using System.Globalization;
using Afm.Cli.Compilation;
using Afm.Core.IO;
using Afm.Profiling.Formats;
using Afm.Profiling.Profile;
using Afm.Profiling.Reports;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm profile</c>: with --spec/--out, the build's profile stage (one folder per DeviceProfile, specs/profiling.md);
/// with an artifact, project or profile, the what-if verb: totals before and after <c>--set layer=format</c>, and
/// <c>--html</c> writes the interactive page.
/// </summary>
internal static class ProfileCommand
{
    public static Command Create()
    {
        var input = new Argument<string?>("input") { Description = "An .afmpkg, an .afmproj (after a build), a profile folder or a profile.json.", Arity = ArgumentArity.ZeroOrOne };
        var spec = new Option<string>("--spec") { Description = "Stage mode: the validated spec.json written by `afm validate`." }.ExistingFile();
        var output = new Option<string?>("--out") { Description = "Stage mode: the profile folder to write." };
        var device = new Option<string?>("--device") { Description = "The device profile to use (needed when there are several)." };
        var set = new Option<string[]>("--set") { Description = "layer=format, e.g. layers.3.mlp=2bit (a name covers the layers under it; * is a wildcard). Repeatable." };
        var html = new Option<string?>("--html") { Description = "Write a self-contained what-if page to this file." };
        var command = new Command(StageLayout.Profile.Name, "Profile per-layer latency, energy and memory on the project's devices, or explore what-if formats.")
            { input, spec, output, device, set, html };
        command.Validators.Add(result =>
        {
            if (result.GetResult(spec) is not null && result.GetResult(output) is null)
                result.AddError("--out is required with --spec (stage mode writes the profile folder there).");
        });
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            if (result.GetValue(spec) is { } specPath)
            {
                var outDir = result.GetValue(output)!;
                foreach (var warning in ProfileStage.Run(SpecFile.Load(specPath), outDir, CompilerOutput.Progress)) CompilerOutput.Report(warning);
                return 0;
            }
            var source = result.GetValue(input) ?? throw ProfileDiagnostics.Error(ProfileDiagnostics.NoProfile,
                "Name an artifact, project or profile: afm profile bin/Debug/tiny-afm.0.1.0.afmpkg --device phone-npu --set layers.3.mlp=2bit");
            return WhatIf(ProfileSource.Load(source, result.GetValue(device)), result.GetValue(set) ?? [], result.GetValue(html));
        }));
        return command;
    }

    private static int WhatIf(ProfileDocument profile, IReadOnlyList<string> settings, string? htmlPath)
    {
        var costs = new LayerCosts(profile);
        var assignment = FormatAssignment.Parse(settings, costs.Layers, costs.Profile.Formats);
        var none = new Dictionary<string, WeightFormat>();
        CompilerOutput.Info($"{profile.Model} on {profile.Device.Name}: prefill of {profile.Workload.PromptTokens} tokens, decode step at {profile.Workload.ContextTokens}; every layer {profile.BaselineFormat} unless set");
        foreach (var (layer, format) in assignment.OrderBy(a => a.Key, StringComparer.Ordinal))
            CompilerOutput.Info($"  {layer}: {costs.Baseline.Name} -> {format.Name}");
        CompilerOutput.Info(string.Format(CultureInfo.InvariantCulture, "{0,-16}{1,14}{2,14}{3,10}", "", "before", "after", "change"));
        foreach (var phase in new[] { Phase.Prefill, Phase.Decode })
        {
            var before = costs.Totals(none, phase);
            var after = costs.Totals(assignment, phase);
            var name = phase == Phase.Prefill ? "prefill" : "decode";
            Line($"{name} ms", before.LatencyMs, after.LatencyMs);
            Line($"{name} mJ", before.EnergyMj, after.EnergyMj);
            if (phase == Phase.Decode) Line("weights MB", before.WeightBytes / 1e6, after.WeightBytes / 1e6);
        }
        if (htmlPath is not null)
        {
            AtomicOutput.WriteAllText(htmlPath, WhatIfPage.Render(profile, assignment));
            CompilerOutput.Info($"what-if page: {Path.GetFullPath(htmlPath)}");
        }
        return 0;
    }

    private static void Line(string label, double before, double after) =>
        CompilerOutput.Info(string.Format(CultureInfo.InvariantCulture, "{0,-16}{1,14:0.######}{2,14:0.######}{3,9:+0.0;-0.0;0.0}%",
            label, before, after, before == 0 ? 0 : (after - before) / before * 100));
}
