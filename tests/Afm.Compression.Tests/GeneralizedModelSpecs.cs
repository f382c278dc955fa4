using Afm.Compression.Calibration;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Training.Stages;

namespace Afm.Compression.Tests;

/// <summary>
/// The quantize stage on the generalized decoder (q/k/v biases, an explicit head width, per-layer heads and FFN widths,
/// untied head): each matrix is quantized at its own shape, biases pass through as float32 vectors outside the
/// bits-per-weight accounting, and a device budget costs each layer at its own shape.
/// </summary>
public class GeneralizedModelSpecs
{
    private static readonly ArchitectureSpec Architecture = MicroModel.Generalized;

    [Fact]
    public void Each_matrix_is_quantized_at_its_own_shape_and_biases_stay_float_vectors()
    {
        var result = MicroModel.Quantize(MicroModel.Plan(target: 3.5), architecture: Architecture);
        var weights = result.Weights.ToDictionary(w => w.Name);
        Assert.Equal([12L, 32], weights["layers.0.attn.q_proj.weight"].Shape);
        Assert.Equal([80L, 32], weights["layers.1.mlp.gate_proj.weight"].Shape);
        foreach (var bias in weights.Values.Where(w => w.Name.EndsWith(".bias", StringComparison.Ordinal)))
            Assert.IsType<FloatTensor>(bias);
        Assert.Equal([18L], weights["layers.1.attn.k_proj.bias"].Shape);

        var report = result.Report;
        Assert.Equal("vector", report.Layers.Single(l => l.Name == "layers.0.attn.v_proj.bias").Role);
        Assert.Equal("float", report.Layers.Single(l => l.Name == "layers.0.attn.v_proj.bias").Format);
        Assert.InRange(report.Totals.BitsPerWeight, 2.0, 3.5);
        Assert.NotNull(report.Layers.Single(l => l.Name == "lm_head").Bits);
    }

    [Fact]
    public void The_stored_file_loads_back_into_a_model_of_the_architecture()
    {
        var result = MicroModel.Quantize(MicroModel.Plan(target: 3.5), architecture: Architecture);
        string path = Path.Combine(Path.GetTempPath(), "afm-compression-tests", Guid.NewGuid().ToString("N") + ".safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        QuantizedWeightsFile.Write(path, result.Weights, result.Metadata);
        using var model = Trainer.LoadModel(Architecture, MicroModel.WeightsPathOf(Architecture));
        ModelWeights.Load(model, QuantizedWeightsFile.Dequantize(path));
        using var floatModel = Trainer.LoadModel(Architecture, MicroModel.WeightsPathOf(Architecture));
        var floatBias = ModelWeights.Read(floatModel).Single(w => w.Name == "layers.1.attn.q_proj.bias").Values;
        Assert.Equal(floatBias, ModelWeights.Read(model).Single(w => w.Name == "layers.1.attn.q_proj.bias").Values);
        Assert.Equal("6", result.Metadata["head_dim"]);
        Assert.Equal("2,6", result.Metadata["layer_heads"]);
    }

    [Fact]
    public void A_device_budget_costs_each_layer_at_its_own_shape()
    {
        var phone = MicroModel.Device(BuiltInDeviceProfiles.PhoneNpu, Architecture);
        var report = MicroModel.Quantize(MicroModel.Plan(target: null), [phone], Architecture).Report;
        var layers = report.Layers.Where(l => l.Role != "vector").ToDictionary(l => l.Name);
        // Layer 1's gate projection (80 x 32) costs more than layer 0's (48 x 32) in the same format.
        double Latency(string name) => layers[name].Devices!["phone-npu"].LatencyMs!.Value;
        Assert.True(Latency("layers.1.mlp.gate_proj") > Latency("layers.0.mlp.gate_proj"));
        Assert.True(Latency("layers.1.attn.q_proj") > Latency("layers.0.attn.q_proj"));
    }
}
