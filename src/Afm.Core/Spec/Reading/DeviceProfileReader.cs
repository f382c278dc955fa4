using System.Globalization;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads &lt;DeviceProfile&gt; items. A profile named like a built-in one (or with BasedOn) starts from its numbers;
/// any other must give every number. Values are checked against their range (AFM5004) and against what is
/// plausible for their unit (AFM5005, a warning: a bandwidth of 5e10 "GB/s" was almost surely written in bytes/s).
/// </summary>
internal static class DeviceProfileReader
{
    private sealed record Number(string Name, Func<DeviceProfileSpec, double> Get, Func<DeviceProfileSpec, double, DeviceProfileSpec> Set,
        string Unit, bool ZeroAllowed, double PlausibleLow, double PlausibleHigh);

    private static readonly Number[] Numbers =
    [
        new("MemoryBandwidthGBps", p => p.MemoryBandwidthGBps, (p, v) => p with { MemoryBandwidthGBps = v }, "GB/s", false, 0.1, 20_000),
        new("Fp32GFlops", p => p.Fp32GFlops, (p, v) => p with { Fp32GFlops = v }, "GFLOP/s", true, 0.1, 1e7),
        new("Fp16GFlops", p => p.Fp16GFlops, (p, v) => p with { Fp16GFlops = v }, "GFLOP/s", true, 0.1, 1e7),
        new("Int8GOps", p => p.Int8GOps, (p, v) => p with { Int8GOps = v }, "GOP/s", true, 0.1, 1e7),
        new("AttentionGFlops", p => p.AttentionGFlops, (p, v) => p with { AttentionGFlops = v }, "GFLOP/s", true, 0.1, 1e7),
        new("LaunchOverheadUs", p => p.LaunchOverheadUs, (p, v) => p with { LaunchOverheadUs = v }, "microseconds", true, 0, 100_000),
        new("EnergyPerBytePj", p => p.EnergyPerBytePj, (p, v) => p with { EnergyPerBytePj = v }, "pJ per byte", true, 0.01, 10_000),
        new("EnergyPerOpPj", p => p.EnergyPerOpPj, (p, v) => p with { EnergyPerOpPj = v }, "pJ per operation", true, 0.001, 1_000),
        new("StaticPowerMw", p => p.StaticPowerMw, (p, v) => p with { StaticPowerMw = v }, "mW", true, 0, 1e6),
        new("MemoryGB", p => p.MemoryGB, (p, v) => p with { MemoryGB = v }, "GB", false, 0.01, 100_000),
    ];

    /// <summary>What a profile without a built-in base must write (Int8GOps defaults to the compute rate, StaticPowerMw to 0).</summary>
    private static readonly string[] RequiredForCustom =
        ["MemoryBandwidthGBps", "LaunchOverheadUs", "EnergyPerBytePj", "EnergyPerOpPj", "MemoryGB"];

    private static readonly string[] Known =
        [.. new[] { "BasedOn", "ComputeType", "PromptTokens", "ContextTokens" }.Concat(Numbers.Select(n => n.Name))];

    public static IReadOnlyList<DeviceProfileSpec> Read(SpecContext context)
    {
        var result = new List<DeviceProfileSpec>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in context.Items("DeviceProfile"))
        {
            item.WarnAboutUnknownMetadata(Known);
            if (!PropertyReader.SafeName().IsMatch(item.Include))
            {
                context.Error(DiagnosticCodes.InvalidName, item.IncludeLocation,
                    $"Device profile name '{item.Include}' names a folder of the profile stage, so use only letters, digits, '.', '-' and '_', starting with a letter or digit.");
                continue;
            }
            if (!seen.Add(item.Include))
            {
                context.Error(DiagnosticCodes.DuplicateDeviceProfile, item.IncludeLocation,
                    $"Device profile '{item.Include}' is declared more than once (names are case-insensitive). Remove one, or give it another name with BasedOn=\"{item.Include}\".");
                continue;
            }
            if (ReadOne(context, item) is { } profile) result.Add(profile);
        }
        return result;
    }

    private static DeviceProfileSpec? ReadOne(SpecContext context, ItemView item)
    {
        var basedOn = item.Get("BasedOn");
        var baseProfile = BuiltInDeviceProfiles.Find(basedOn?.Text ?? item.Include);
        if (basedOn is { } b && baseProfile is null)
        {
            context.Error(DiagnosticCodes.UnknownBaseDevice, b.Location,
                $"{b.What} is '{b.Text}', which is not a built-in device profile. Write one of {BuiltInNames()}, or remove BasedOn and give every number.");
            return null;
        }
        if (baseProfile is null)
        {
            var missing = RequiredForCustom.Where(n => !item.Has(n)).ToList();
            if (!item.Has("Fp16GFlops") && !item.Has("Fp32GFlops")) missing.Add("Fp16GFlops or Fp32GFlops");
            if (missing.Count > 0)
            {
                context.Error(DiagnosticCodes.DeviceProfileIncomplete, item.Location,
                    $"Device profile '{item.Include}' is not built-in ({BuiltInNames()}), so it must give its numbers, but it lacks {string.Join(", ", missing)}. Add them, or start from a built-in profile with BasedOn=\"phone-npu\".");
                return null;
            }
        }

        var valid = true;
        var profile = (baseProfile ?? BuiltInDeviceProfiles.LaptopCpu) with { Name = item.Include, Location = item.Location };
        if (baseProfile is null)
            profile = profile with { Fp16GFlops = 0, Fp32GFlops = 0, Int8GOps = 0, StaticPowerMw = 0, Calibrate = false,
                ComputeType = item.Has("Fp16GFlops") ? ComputeType.Fp16 : ComputeType.Fp32 };
        foreach (var number in Numbers)
        {
            if (item.Get(number.Name) is not { } raw) continue;
            var value = context.Double(raw, (v => double.IsFinite(v), "a finite number"));
            if (value is null) { valid = false; continue; }
            if (value < 0 || (value == 0 && !number.ZeroAllowed))
            {
                context.Error(DiagnosticCodes.DeviceValueOutOfRange, raw.Location,
                    $"{raw.What} is {raw.Text} {number.Unit}, but it must be {(number.ZeroAllowed ? "0 or more" : "greater than 0")}.");
                valid = false;
                continue;
            }
            if (value != 0 && (value < number.PlausibleLow || value > number.PlausibleHigh))
                context.Warning(DiagnosticCodes.DeviceValueImplausible, raw.Location,
                    $"{raw.What} is {raw.Text} {number.Unit}, outside what any device has ({number.PlausibleLow:G} to {number.PlausibleHigh:G} {number.Unit}). Check the unit: the value is read in {number.Unit}.");
            profile = number.Set(profile, value.Value);
        }

        if (item.Get("ComputeType") is { } ct)
        {
            if (string.Equals(ct.Text, "fp16", StringComparison.OrdinalIgnoreCase)) profile = profile with { ComputeType = ComputeType.Fp16 };
            else if (string.Equals(ct.Text, "fp32", StringComparison.OrdinalIgnoreCase)) profile = profile with { ComputeType = ComputeType.Fp32 };
            else
            {
                context.Error(DiagnosticCodes.UnknownComputeType, ct.Location, $"{ct.What} is '{ct.Text}'; write fp16 or fp32.");
                valid = false;
            }
        }
        if (valid && profile.ComputeGFlops <= 0)
            context.Error(DiagnosticCodes.UnknownComputeType, item.Get("ComputeType")?.Location ?? item.Location,
                $"Device profile '{item.Include}' computes in {profile.ComputeType.ToString().ToLowerInvariant()}, but its {profile.ComputeType}GFlops is 0. Give {profile.ComputeType}GFlops a rate, or set ComputeType to the type the device has.");
        if (profile.Int8GOps <= 0) profile = profile with { Int8GOps = profile.ComputeGFlops };

        var prompt = item.Get("PromptTokens") is { } pt ? context.Int(pt, SpecContext.Positive) : null;
        var contextTokens = item.Get("ContextTokens") is { } cx ? context.Int(cx, SpecContext.Positive) : null;
        if ((item.Has("PromptTokens") && prompt is null) || (item.Has("ContextTokens") && contextTokens is null)) valid = false;
        return valid && profile.ComputeGFlops > 0 ? profile with { PromptTokens = prompt, ContextTokens = contextTokens } : null;
    }

    /// <summary>
    /// A prompt or context longer than the model serves is said here, at the attribute, instead of by the profile stage
    /// after training (which keeps the check for specs it did not come from).
    /// </summary>
    public static void CheckWorkloads(SpecContext context, int? maxSequenceLength)
    {
        if (maxSequenceLength is not int max) return;
        foreach (var item in context.Items("DeviceProfile"))
            foreach (var name in new[] { "PromptTokens", "ContextTokens" })
                if (item.Get(name) is { } value && long.TryParse(value.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var tokens) && tokens > max)
                    context.Error(DiagnosticCodes.WorkloadExceedsContext, value.Location,
                        $"{value.What} is {tokens}, but the model serves at most MaxSequenceLength = {max} tokens. Lower {name} to {max} or less, or raise MaxSequenceLength.");
    }

    private static string BuiltInNames() => string.Join(", ", BuiltInDeviceProfiles.All.Select(p => p.Name));
}
