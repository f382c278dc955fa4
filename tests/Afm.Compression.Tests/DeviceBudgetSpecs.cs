using Afm.Compression.Allocation;
using Afm.Compression.Reports;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;

namespace Afm.Compression.Tests;

/// <summary>Latency and energy budgets on a Device, with the profile stage's per-layer costs (specs/quantization.md, "Device budgets").</summary>
public class DeviceBudgetSpecs
{
    private static readonly DeviceCosts Phone = MicroModel.Device(BuiltInDeviceProfiles.PhoneNpu);
    private static readonly DeviceCosts Laptop = MicroModel.Device(BuiltInDeviceProfiles.LaptopCpu);

    private static QuantizationPlanSpec Budget(double? latencyMs = null, double? energyMj = null) => MicroModel.Plan(target: null) with
    {
        Device = Phone.Device, MaxLatencyMs = latencyMs, MaxEnergyMj = energyMj,
        MaxLatencyMsLocation = new SourceLocation("/micro/micro.afmproj", 12, 40), MaxEnergyMjLocation = new SourceLocation("/micro/micro.afmproj", 12, 60),
    };

    private static readonly Lazy<double> AllHigh = new(() => LatencyOf(4));
    private static readonly Lazy<double> AllLow = new(() => LatencyOf(2));

    /// <summary>Decode-step latency of the whole model on the phone with every allocatable layer at <paramref name="bits"/>.</summary>
    private static double LatencyAt(int bits) => bits == 4 ? AllHigh.Value : AllLow.Value;

    private static double LatencyOf(int bits) =>
        MicroModel.Quantize(MicroModel.Plan(target: null) with { Bits = bits, LowBits = bits }, [Phone]).Report.Devices.Single().Quantized.LatencyMs!.Value;

    [Fact]
    public void Without_a_budget_every_layer_keeps_its_bits_and_the_report_estimates_each_device()
    {
        var report = MicroModel.Quantize(MicroModel.Plan(target: null), [Phone, Laptop]).Report;
        Assert.All(report.Layers.Where(l => l.Role == "allocated"), l => Assert.Equal(4, l.Bits));
        Assert.Equal(["phone-npu", "laptop-cpu"], report.Devices.Select(d => d.Name));
        Assert.All(report.Devices, d => Assert.True(d.Quantized.Bytes < d.Float.Bytes && d.Quantized.LatencyMs < d.Float.LatencyMs));
        Assert.All(report.Layers.Where(l => l.Role != "vector"), l => Assert.Equal(["phone-npu", "laptop-cpu"], l.Devices!.Keys));
        Assert.All(report.Frontier, f => Assert.NotNull(f.Devices!["phone-npu"].LatencyMs));
    }

    /// <summary>
    /// With RuntimeForm="nbits" the profile is of the resident graph, and every tensor is costed as ONNX Runtime runs it there:
    /// projections as MatMulNBits at their bits, the int8 embedding as GatherBlockQuantized with the tied head's nibble pair.
    /// </summary>
    [Fact]
    public void A_resident_plan_is_costed_in_the_MatMulNBits_formats_of_the_graph_it_exports()
    {
        var plan = MicroModel.Plan(target: null) with { Method = QuantizationMethod.Uniform, RuntimeForm = RuntimeForm.NBits };
        var laptop = MicroModel.Device(BuiltInDeviceProfiles.LaptopCpu, plan: plan);
        Assert.True(laptop.ResidentGraph);
        Assert.False(Laptop.ResidentGraph);
        var result = MicroModel.Quantize(plan, [laptop]);
        var report = result.Report;
        foreach (var layer in report.Layers.Where(l => l.Role != "vector" && laptop.Covers(l.Name)))
        {
            var tensor = result.Weights.Single(t => t.Name == layer.Name + ".weight");
            var expected = layer.RuntimeForm == Storage.RuntimeForms.GatherBlockQuantized ? "nbits8" : $"nbits{layer.Bits}";
            Assert.Equal(expected, laptop.FormatOf(tensor).Name);
            Assert.Equal(laptop.Cost(layer.Name, tensor).LatencyMs, layer.Devices!["laptop-cpu"].LatencyMs!.Value, 6); // the report rounds
        }
    }

    [Fact]
    public void A_latency_budget_forces_low_bits_on_the_layers_whose_low_bits_save_the_most_time()
    {
        double high = LatencyAt(4), low = LatencyAt(2);
        double limit = low + 0.3 * (high - low);
        var report = MicroModel.Quantize(Budget(latencyMs: limit), [Phone]).Report;
        var phone = report.Devices.Single();
        Assert.True(phone.Budget);
        Assert.InRange(phone.Quantized.LatencyMs!.Value, low, limit);
        var allocated = report.Layers.Where(l => l.Role == "allocated").ToList();
        Assert.Contains(allocated, l => l.Bits == 2);
        Assert.Contains(allocated, l => l.Bits == 4);
        // Sensitivities of the micro model are small and alike, so time decides: the largest matrices (the MLP's) go low first.
        double Saving(LayerReport l) => Phone.Cost(l.Name, Tensor(l, 4)).LatencyMs - Phone.Cost(l.Name, Tensor(l, 2)).LatencyMs;
        var lowered = allocated.Where(l => l.Bits == 2).Select(Saving).ToList();
        var kept = allocated.Where(l => l.Bits == 4).Select(Saving).ToList();
        Assert.True(lowered.Average() > kept.Average(), $"lowered save {lowered.Average()} ms on average, kept {kept.Average()} ms");
    }

    [Fact]
    public void An_energy_budget_is_met_too()
    {
        var high = MicroModel.Quantize(MicroModel.Plan(target: null), [Phone]).Report.Devices.Single().Quantized.EnergyMj!.Value;
        var report = MicroModel.Quantize(Budget(energyMj: high * 0.97), [Phone]).Report;
        Assert.True(report.Devices.Single().Quantized.EnergyMj <= high * 0.97);
        Assert.Contains(report.Layers, l => l.Role == "allocated" && l.Bits == 2);
    }

    [Fact]
    public void A_latency_budget_below_the_lowest_bits_is_an_AFM4104_error_at_MaxLatencyMs()
    {
        var error = Assert.Throws<DiagnosticException>(() => MicroModel.Quantize(Budget(latencyMs: LatencyAt(2) * 0.5), [Phone]));
        Assert.Equal("AFM4104", error.Diagnostic.Code);
        Assert.Equal(new SourceLocation("/micro/micro.afmproj", 12, 40), error.Diagnostic.Location);
        Assert.Contains("phone-npu", error.Diagnostic.Message);
    }

    [Fact]
    public void An_energy_budget_below_the_lowest_bits_is_an_AFM4105_error_at_MaxEnergyMj()
    {
        var error = Assert.Throws<DiagnosticException>(() => MicroModel.Quantize(Budget(energyMj: 1e-9), [Phone]));
        Assert.Equal("AFM4105", error.Diagnostic.Code);
        Assert.Equal(new SourceLocation("/micro/micro.afmproj", 12, 60), error.Diagnostic.Location);
    }

    [Fact]
    public void A_budget_on_bits_the_profile_does_not_cost_is_an_AFM4106_error()
    {
        var error = Assert.Throws<DiagnosticException>(() => MicroModel.Quantize(Budget(latencyMs: 1) with { Bits = 8 }, [Phone]));
        Assert.Equal("AFM4106", error.Diagnostic.Code);
        Assert.Contains("pal8", error.Diagnostic.Message);
    }

    [Fact]
    public void The_report_with_a_device_budget_matches_its_snapshot()
    {
        double limit = LatencyAt(2) + 0.5 * (LatencyAt(4) - LatencyAt(2));
        // Device estimates per layer, per frontier point and per model, the budget and the chosen point: review a change like code.
        var report = MicroModel.Quantize(Budget(latencyMs: Math.Round(limit, 6)), [Phone]).Report;
        ReportSnapshot.Match(report);
        ReportSnapshot.Match(ReportMarkdown.Render("micro 0.0.1", report), "markdown");
    }

    private static Storage.QuantizedTensor Tensor(LayerReport layer, int bits) =>
        new Storage.PalettizedTensor(layer.Name + ".weight", layer.Shape.ToArray(), bits, 16, [], [], null, null);
}
