using System.Text.Json;
using System.Text.Json.Serialization;
using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Model;

namespace Afm.Profiling.Profile;

/// <summary>The workload a profile costs, and the palettization group size its lookup-table overheads assume.</summary>
public sealed record ProfileWorkload(int PromptTokens, int ContextTokens, int GroupSize, int ActivationBytes);

/// <summary>How the device's numbers were obtained, when they were measured (the <c>host</c> profile).</summary>
public sealed record CalibrationInfo(string Method, double MeasuredGFlops, double MeasuredBandwidthGBps, double MeasuredLaunchOverheadUs, int Threads)
{
    /// <summary>Rate of the batched products over the head dimension (attention), GFLOP/s; null in profiles measured before it was.</summary>
    public double? MeasuredAttentionGFlops { get; init; }
    /// <summary>MatMulNBits' dequantization rate per width, G elements/s; null in profiles measured before it was.</summary>
    public IReadOnlyDictionary<int, double>? MeasuredMatMulNBitsGOps { get; init; }
    /// <summary>MatMulNBits' fixed cost of a product split across threads per width, microseconds.</summary>
    public IReadOnlyDictionary<int, double>? MeasuredMatMulNBitsParallelUs { get; init; }
    /// <summary>Fixed cost of a norm kernel over several short rows (QK-norm), microseconds.</summary>
    public double? MeasuredRowsNormOverheadUs { get; init; }
}

/// <summary>One op of profile.json: its identity and its cost per phase and format ("any" for weightless ops).</summary>
public sealed record ProfiledOp(string Name, OpKind Kind, string? Layer, string Group, int Kernels,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, OpCost>> Costs)
{
    public const string AnyFormat = "any";

    public OpCost CostOf(Phase phase, WeightFormat format) =>
        Costs[PhaseKey(phase)].TryGetValue(Layer is null ? AnyFormat : format.Name, out var cost) ? cost
            : throw new KeyNotFoundException($"profile.json has no {format.Name} cost for {Name}; it tabulates {string.Join(", ", Costs[PhaseKey(phase)].Keys)}.");

    public static string PhaseKey(Phase phase) => phase == Phase.Prefill ? "prefill" : "decode";
}

/// <summary>
/// profile.json: per op x phase x format latency, energy and bytes on one device (specs/profiling.md). The quantize
/// stage reads it through <see cref="LayerCosts"/>.
/// </summary>
public sealed record ProfileDocument(string Model, DeviceProfileSpec Device, CalibrationInfo? Calibration, ProfileWorkload Workload,
    IReadOnlyList<string> Formats, string BaselineFormat, IReadOnlyList<ProfiledOp> Ops)
{
    public const string FileName = Afm.Core.Artifacts.StageLayout.Profile.Device.Profile;

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Layer names whose format can be chosen, in model order (the embedding first).</summary>
    public IReadOnlyList<string> Layers => Ops.Where(o => o.Layer is not null).Select(o => o.Layer!).Distinct(StringComparer.Ordinal).ToList();

    public string ToJson() => JsonSerializer.Serialize(this with { Device = Device with { Location = null } }, JsonOptions) + "\n";

    public static ProfileDocument FromJson(string json) =>
        JsonSerializer.Deserialize<ProfileDocument>(json, JsonOptions) ?? throw new InvalidDataException("profile.json is empty.");

    public static ProfileDocument Load(string path) => FromJson(File.ReadAllText(path));
}
