using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

public sealed class QuantizationPlanTests
{
    private const string Anchor = "<EvalSet Include=\"data/eval/*.txt\" />";

    private static TestProject WithPlan(string plan) => TestProject.With(Anchor, Anchor + "\n    " + plan);

    [Fact]
    public void A_project_without_a_plan_has_no_quantization()
    {
        using var project = new TestProject();
        Assert.Null(project.Read().Spec!.Quantization);
    }

    [Fact]
    public void A_plan_takes_the_AFM_defaults()
    {
        using var project = WithPlan("<QuantizationPlan Include=\"device\" />");
        var result = project.Read();
        Assert.DoesNotContain(result.Diagnostics, d => d.Code is "AFM1501" or "AFM1006");
        var plan = result.Spec!.Quantization!;
        Assert.Equal((QuantizationMethod.Palettize, 4, 2, 16, LutType.Fp16, EmbeddingFormat.Int8PerChannel, ImportanceKind.Fisher),
            (plan.Method, plan.Bits, plan.LowBits, plan.GroupSize, plan.LutType, plan.Embedding, plan.Importance));
        Assert.Null(plan.TargetBitsPerWeight);
        Assert.Equal(RoundingKind.Gptq, plan.Rounding);
        Assert.Equal(RuntimeForm.Expand, plan.RuntimeForm);
        Assert.Equal(RuntimeActivations.Float32, plan.RuntimeActivations);
        Assert.Equal((80, 0.02), (plan.TuningSteps, plan.TuningLearningRate));
    }

    [Fact]
    public void Grid_tuning_can_be_set_or_turned_off()
    {
        using var project = WithPlan("<QuantizationPlan Include=\"device\" TuningSteps=\"0\" TuningLearningRate=\"0.05\" />");
        var plan = project.Read().Spec!.Quantization!;
        Assert.Equal((0, 0.05), (plan.TuningSteps, plan.TuningLearningRate));
    }

    [Fact]
    public void Nearest_rounding_can_be_chosen()
    {
        using var project = WithPlan("<QuantizationPlan Include=\"device\" Rounding=\"nearest\" />");
        Assert.Equal(RoundingKind.Nearest, project.Read().Spec!.Quantization!.Rounding);
    }

    [Fact]
    public void Uniform_weights_can_be_made_resident_for_MatMulNBits()
    {
        using var project = WithPlan("<QuantizationPlan Include=\"device\" Method=\"uniform\" RuntimeForm=\"nbits\" Bits=\"4\" LowBits=\"2\" />");
        var result = project.Read();
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == Afm.Core.Diagnostics.DiagnosticSeverity.Error);
        Assert.Equal(RuntimeForm.NBits, result.Spec!.Quantization!.RuntimeForm);
    }

    [Fact]
    public void Overrides_and_keep_float_patterns_are_read_in_order()
    {
        using var project = WithPlan("<QuantizationPlan Include=\"device\" TargetBitsPerWeight=\"3.7\" Override=\"layers.0.*=4;lm_head=8\" KeepFloat=\"layers.5.mlp.down_proj\" />");
        var plan = project.Read().Spec!.Quantization!;
        Assert.Equal([new BitsOverride("layers.0.*", 4), new BitsOverride("lm_head", 8)], plan.Overrides);
        Assert.Equal(["layers.5.mlp.down_proj"], plan.KeepFloat);
        Assert.Equal(3.7, plan.TargetBitsPerWeight);
    }

    [Theory]
    [InlineData("Method=\"kmeans\"", "AFM4002", "Method=")]
    [InlineData("Bits=\"3\" LowBits=\"4\"", "AFM4003", "LowBits=")]
    [InlineData("LutType=\"fp8\"", "AFM4004", "LutType=")]
    [InlineData("Embedding=\"int4\"", "AFM4005", "Embedding=")]
    [InlineData("Importance=\"hessian\"", "AFM4006", "Importance=")]
    [InlineData("Override=\"layers.0.*:4\"", "AFM4007", "Override=")]
    [InlineData("Rounding=\"awq\"", "AFM4011", "Rounding=")]
    [InlineData("Device=\"phone\"", "AFM4008", "Device=")]
    [InlineData("RuntimeForm=\"resident\"", "AFM1030", "RuntimeForm=")]
    [InlineData("RuntimeForm=\"nbits\" LutType=\"int8\"", "AFM4303", "LutType=")]
    [InlineData("RuntimeForm=\"nbits\" RuntimeActivations=\"fp16\"", "AFM1470", "RuntimeActivations=")]
    [InlineData("RuntimeActivations=\"int8\"", "AFM1471", "RuntimeActivations=")]
    [InlineData("Method=\"uniform\" RuntimeForm=\"nbits\" Bits=\"3\"", "AFM4301", "Bits=")]
    [InlineData("Method=\"uniform\" RuntimeForm=\"nbits\" LowBits=\"1\"", "AFM4301", "LowBits=")]
    [InlineData("Method=\"uniform\" RuntimeForm=\"nbits\" Override=\"lm_head=6\"", "AFM4301", "Override=")]
    [InlineData("Bits=\"9\"", "AFM1003", "Bits=")]
    [InlineData("TuningSteps=\"-1\"", "AFM1003", "TuningSteps=")]
    [InlineData("TuningLearningRate=\"0\"", "AFM1003", "TuningLearningRate=")]
    public void A_bad_value_is_an_error_at_its_attribute(string metadata, string code, string attribute)
    {
        using var project = WithPlan($"<QuantizationPlan Include=\"device\" {metadata} />");
        DiagnosticAssert.Error(project.Read(), code, project.Locate(attribute));
    }

    [Fact]
    public void Int8_activations_are_read_with_resident_weights()
    {
        using var project = WithPlan("<QuantizationPlan Include=\"device\" Method=\"uniform\" RuntimeForm=\"nbits\" RuntimeActivations=\"int8\" />");
        var result = project.Read();
        Assert.DoesNotContain(result.Diagnostics, d => d.Code is "AFM1470" or "AFM1471" or "AFM1006");
        Assert.Equal(RuntimeActivations.Int8, result.Spec!.Quantization!.RuntimeActivations);
    }

    [Fact]
    public void A_latency_budget_without_a_device_is_an_AFM4010_error_at_the_budget()
    {
        using var project = WithPlan("<QuantizationPlan Include=\"device\" MaxLatencyMs=\"20\" />");
        DiagnosticAssert.Error(project.Read(), "AFM4010", project.Locate("MaxLatencyMs="));
    }

    [Fact]
    public void Latency_and_energy_budgets_on_a_declared_device_are_read_with_their_locations()
    {
        using var project = WithPlan("<DeviceProfile Include=\"phone-npu\" />\n    <QuantizationPlan Include=\"device\" Device=\"phone-npu\" MaxLatencyMs=\"20\" MaxEnergyMj=\"0.5\" />");
        var result = project.Read();
        Assert.DoesNotContain(result.Diagnostics, d => d.Code.StartsWith("AFM40", StringComparison.Ordinal));
        var plan = result.Spec!.Quantization!;
        Assert.Equal((20.0, 0.5, "phone-npu"), (plan.MaxLatencyMs, plan.MaxEnergyMj, plan.Device));
        Assert.Equal(project.Locate("MaxLatencyMs="), plan.MaxLatencyMsLocation);
        Assert.Equal(project.Locate("MaxEnergyMj="), plan.MaxEnergyMjLocation);
    }

    [Fact]
    public void A_second_plan_is_an_error()
    {
        using var project = WithPlan("<QuantizationPlan Include=\"a\" />\n    <QuantizationPlan Include=\"b\" />");
        Assert.Contains(project.Read().Diagnostics, d => d.Code == "AFM4001" && d.IsError);
    }
}
