using Afm.Compression.Storage;
using Afm.Profiling.Formats;
using Afm.Profiling.Profile;

namespace Afm.Compression.Allocation;

/// <summary>
/// One device's profile (the profile stage's <see cref="LayerCosts"/>) in the quantize stage's terms: what a stored
/// tensor costs on it, and what a whole model costs (weightless ops included), for one decode step — the phase a
/// latency or energy budget constrains (specs/quantization.md, "Device budgets").
/// </summary>
public sealed class DeviceCosts(LayerCosts costs, bool measured)
{
    /// <summary>Budgets and report estimates are per generated token: the decode step the profile costs at its context length.</summary>
    public const Phase BudgetPhase = Phase.Decode;

    public string Device => costs.Profile.Device.Name;

    /// <summary>Whether the numbers were measured on this machine (the <c>host</c> profile): they change from run to run.</summary>
    public bool Measured => measured;

    public ProfileWorkload Workload => costs.Profile.Workload;

    /// <summary>Reads <c>&lt;profile&gt;/&lt;device&gt;/profile.json</c>; measured when the profile carries a calibration.</summary>
    public static DeviceCosts Load(string profileJsonPath)
    {
        var document = ProfileDocument.Load(profileJsonPath);
        return new DeviceCosts(new LayerCosts(document), document.Calibration is not null);
    }

    /// <summary>
    /// The profile's name for a stored tensor's format as the exported graph runs it. In a profile of a graph that runs
    /// weights resident (it tabulates the MatMulNBits formats: RuntimeForm="nbits"), a tensor MatMulNBits runs exactly
    /// (<see cref="RuntimeForms.NBitsBlock"/>) costs as nbits at its bits, and the int8 embedding as nbits8 (GatherBlockQuantized,
    /// the tied head's nibble pair). Otherwise uniform blocks cost like a LUT of the same bits (same index bits, same overhead
    /// bytes by construction), and an int8 LUT is costed as the profile's fp16 LUT.
    /// </summary>
    public WeightFormat FormatOf(QuantizedTensor tensor) => ResidentGraph && tensor is Int8ChannelTensor ? WeightFormat.NBits(8)
        : ResidentGraph && RuntimeForms.NBitsBlock(tensor) is not null ? WeightFormat.NBits(tensor.Bits)
        : tensor switch
        {
            PalettizedTensor or UniformTensor => WeightFormat.Palettized(tensor.Bits),
            Int8ChannelTensor => WeightFormat.Int8,
            _ => WeightFormat.Fp32,
        };

    /// <summary>Whether the profiled graph runs weights resident: the profile tabulates the MatMulNBits formats.</summary>
    public bool ResidentGraph => WeightFormat.Resident.All(f => costs.Profile.Formats.Contains(f.Name, StringComparer.Ordinal));

    /// <summary>Whether the profile has a cost for this tensor (it tabulates fp32, fp16, int8, 4/3/2-bit palettes, and nbits2/4/8 for a resident graph).</summary>
    public bool Tabulates(QuantizedTensor tensor) => costs.Profile.Formats.Contains(FormatOf(tensor).Name, StringComparer.Ordinal);

    public IReadOnlyList<string> Formats => costs.Profile.Formats;

    /// <summary>Whether the profile costs a layer of this name (norm vectors are part of weightless ops and are not).</summary>
    public bool Covers(string layerName) => costs.Layers.Contains(layerName, StringComparer.Ordinal);

    public LayerCost Cost(string layerName, QuantizedTensor tensor) => costs.Cost(layerName, FormatOf(tensor), BudgetPhase);

    /// <summary>The whole model with each named layer in its tensor's format (layers not named stay in the profile's baseline).</summary>
    public ModelTotals Totals(IEnumerable<(string Layer, QuantizedTensor Tensor)> layers) =>
        costs.Totals(layers.Where(l => Covers(l.Layer)).ToDictionary(l => l.Layer, l => FormatOf(l.Tensor), StringComparer.Ordinal), BudgetPhase);

    /// <summary>The float model as the device would run it (every layer in the profile's baseline format).</summary>
    public ModelTotals Baseline() => costs.Totals(new Dictionary<string, WeightFormat>(), BudgetPhase);
}
