using Afm.Compression.Reports;
using Afm.Compression.Storage;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;

namespace Afm.Compression.Tests;

public class PipelineSpecs
{
    [Fact]
    public void The_report_of_the_micro_model_matches_its_snapshot()
    {
        var result = MicroModel.Quantize(MicroModel.Plan());
        // Any changed number (bits, bytes, errors, sensitivities, perplexities, frontier) fails here: review and update the snapshot.
        ReportSnapshot.Match(result.Report);
    }

    [Fact]
    public void The_markdown_report_matches_its_snapshot()
    {
        var result = MicroModel.Quantize(MicroModel.Plan());
        ReportSnapshot.Match(ReportMarkdown.Render("micro 0.0.1", result.Report));
    }

    [Fact]
    public void Quantizing_twice_gives_identical_weights_files()
    {
        string a = Temp(), b = Temp();
        QuantizedWeightsFile.Write(a, MicroModel.Quantize(MicroModel.Plan()).Weights);
        QuantizedWeightsFile.Write(b, MicroModel.Quantize(MicroModel.Plan()).Weights);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
    }

    [Fact]
    public void The_achieved_bits_per_weight_meet_the_target_from_below()
    {
        var report = MicroModel.Quantize(MicroModel.Plan(target: 3.0)).Report;
        Assert.InRange(report.Totals.BitsPerWeight, 2.5, 3.0);
        Assert.Contains(report.Layers, l => l.Bits == 2);
        Assert.Contains(report.Layers, l => l.Bits == 4);
    }

    [Fact]
    public void The_embedding_is_int8_per_channel_and_norms_stay_float()
    {
        var report = MicroModel.Quantize(MicroModel.Plan()).Report;
        Assert.Equal("int8-per-channel", report.Layers.Single(l => l.Name == "embed").Format);
        Assert.All(report.Layers.Where(l => l.Name.EndsWith("norm", StringComparison.Ordinal)), l => Assert.Equal("float", l.Format));
    }

    [Fact]
    public void Overrides_and_keep_float_patterns_win_over_the_allocator()
    {
        var report = MicroModel.Quantize(MicroModel.Plan(target: 3.6, overrides: [new BitsOverride("layers.0.*", 4)], keepFloat: ["layers.1.mlp.down_proj"])).Report;
        Assert.All(report.Layers.Where(l => l.Name.StartsWith("layers.0.", StringComparison.Ordinal) && l.Role != "vector"), l => Assert.Equal(4, l.Bits));
        Assert.Equal("float", report.Layers.Single(l => l.Name == "layers.1.mlp.down_proj").Format);
    }

    [Fact]
    public void An_nbits_plan_lays_every_quantized_layer_out_for_MatMulNBits()
    {
        var plan = MicroModel.Plan(target: null) with { Method = QuantizationMethod.Uniform, RuntimeForm = RuntimeForm.NBits };
        var weights = MicroModel.Quantize(plan).Weights;
        var uniform = weights.OfType<UniformTensor>().ToList();
        Assert.Equal(7 * MicroModel.Architecture.Layers, uniform.Count);
        Assert.All(uniform, u =>
        {
            Assert.True(u.IntegerZeroPoints, u.Name);
            Assert.Equal(0, u.Shape[1] % u.BlockSize);
            for (int b = 0; b < u.Blocks; b++) Assert.NotNull(Quantizers.ZeroPointGrid.ZeroPoint(u.Scale[b], u.Offset[b], u.IndexBits));
        });
    }

    [Fact]
    public void An_unreachable_target_is_an_AFM4101_error()
    {
        var error = Assert.Throws<DiagnosticException>(() => MicroModel.Quantize(MicroModel.Plan(target: 1.0)));
        Assert.Equal("AFM4101", error.Diagnostic.Code);
    }

    [Fact]
    public void The_stored_file_dequantizes_to_the_weights_the_report_was_measured_with()
    {
        var result = MicroModel.Quantize(MicroModel.Plan());
        string path = Temp();
        QuantizedWeightsFile.Write(path, result.Weights, result.Metadata);
        var restored = QuantizedWeightsFile.Dequantize(path);
        foreach (var weight in result.Weights) Assert.Equal(weight.Dequantize(), restored[weight.Name].Values);
        // Data plus the JSON header (names and the per-tensor description); the 1.05x bound on a real model is measured by the bench.
        Assert.InRange(new FileInfo(path).Length, result.Report.Totals.WeightBytes, result.Report.Totals.WeightBytes + 8192);
    }

    [Fact]
    public void The_baseline_gate_fails_on_a_rise_in_bits_or_perplexity_beyond_tolerance()
    {
        var report = MicroModel.Quantize(MicroModel.Plan()).Report;
        var worse = report with
        {
            Totals = report.Totals with { BitsPerWeight = report.Totals.BitsPerWeight + 0.1 },
            Perplexity = report.Perplexity with { Quantized = report.Perplexity.Quantized * 1.1 },
        };
        Assert.Empty(BaselineGate.Check(report, report, "baseline.json", 0.01, 0.02));
        var problems = BaselineGate.Check(worse, report, "baseline.json", 0.01, 0.02);
        Assert.Equal(new[] { "AFM4201", "AFM4202" }, problems.Select(p => p.Code));
        Assert.Empty(BaselineGate.Check(worse, report, "baseline.json", 0.2, 0.2));
    }

    private static string Temp() => Path.Combine(Path.GetTempPath(), $"afm-quant-{Guid.NewGuid():N}.safetensors");
}
