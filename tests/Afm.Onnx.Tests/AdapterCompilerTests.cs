using Afm.Onnx.Adapters;
using Afm.Onnx.Export;

namespace Afm.Onnx.Tests;

/// <summary>adapter.safetensors -> .onnx_adapter: the ORT format's fields, determinism, and what is refused.</summary>
public sealed class AdapterCompilerTests
{
    private const string BaseSha = "1111111111111111111111111111111111111111111111111111111111111111";

    private static (DecoderModel Model, ExportedBase Base) Base()
    {
        using var torchModel = MicroDecoder.Create(MicroDecoder.Architecture());
        var model = MicroDecoder.ToExport(torchModel) with { BaseSha256 = BaseSha };
        return (model, ExportedBase.FromModel(DecoderExporter.Export(model, "test")));
    }

    [Fact]
    public void The_file_has_ORTs_identifier_format_version_1_and_every_tensor_with_name_dims_type_and_bytes()
    {
        var (model, baseGraph) = Base();
        var tensors = MicroAdapter.Random(model, 4, seed: 9);
        var (file, description) = AdapterCompiler.Compile(MicroAdapter.Trained("recovery", BaseSha, 4, tensors), baseGraph);

        Assert.Equal("TORT", System.Text.Encoding.ASCII.GetString(file, 4, 4));
        var read = OnnxAdapterFormat.Read(file);
        Assert.Equal(1, read.FormatVersion);
        Assert.Equal(3, read.AdapterVersion);
        Assert.Equal(1, read.ModelVersion);
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), read.Parameters.Select(p => p.Name));
        foreach (var parameter in read.Parameters)
        {
            Assert.Equal(AdapterParameter.Float, parameter.DataType);
            Assert.Equal(tensors[parameter.Name].Shape, parameter.Dims);
            Assert.Equal(tensors[parameter.Name].Values, parameter.ToFloats());
        }
        Assert.Equal(new AdapterDescription("afm-adapter/1", "recovery", "feature", 4, "3", 3, BaseSha, tensors.Count), description);
    }

    [Fact]
    public void The_same_adapter_compiles_to_the_same_bytes()
    {
        var (model, baseGraph) = Base();
        var first = AdapterCompiler.Compile(MicroAdapter.Trained("a", BaseSha, 4, MicroAdapter.Random(model, 4, 5)), baseGraph).File;
        var second = AdapterCompiler.Compile(MicroAdapter.Trained("a", BaseSha, 4, MicroAdapter.Random(model, 4, 5)), baseGraph).File;
        Assert.Equal(first, second);
    }

    [Fact]
    public void An_adapter_trained_on_another_base_is_refused()
    {
        var (model, baseGraph) = Base();
        var other = new string('2', 64);
        var error = Assert.Throws<AdapterException>(() => AdapterCompiler.Compile(MicroAdapter.Trained("a", other, 4, MicroAdapter.Random(model, 4, 5)), baseGraph));
        Assert.Equal(AdapterCodes.BaseMismatch, error.Code);
        Assert.Contains(other, error.Message);
        Assert.Contains(BaseSha, error.Message);
    }

    [Fact]
    public void A_tensor_that_does_not_fit_the_graph_is_refused_naming_it()
    {
        var (model, baseGraph) = Base();
        var tensors = MicroAdapter.Random(model, 4, seed: 5);
        tensors["layers.0.attn.q_proj.weight.lora_A"] = ([4, 31], new float[4 * 31]);
        var error = Assert.Throws<AdapterException>(() => AdapterCompiler.Compile(MicroAdapter.Trained("a", BaseSha, 4, tensors), baseGraph));
        Assert.Equal(AdapterCodes.Invalid, error.Code);
        Assert.Contains("layers.0.attn.q_proj.weight.lora_A", error.Message);

        var unpaired = MicroAdapter.Random(model, 4, seed: 5);
        unpaired.Remove("layers.1.mlp.down_proj.weight.lora_B");
        Assert.Contains("layers.1.mlp.down_proj.weight.lora_B",
            Assert.Throws<AdapterException>(() => AdapterCompiler.Compile(MicroAdapter.Trained("a", BaseSha, 4, unpaired), baseGraph)).Message);

        var stranger = MicroAdapter.Random(model, 4, seed: 5);
        stranger["lm_head.weight.lora_A"] = ([4, 32], new float[128]);
        Assert.Contains("lm_head.weight.lora_A",
            Assert.Throws<AdapterException>(() => AdapterCompiler.Compile(MicroAdapter.Trained("a", BaseSha, 4, stranger), baseGraph)).Message);
    }

    [Fact]
    public void The_base_graph_declares_A_and_B_of_every_projection_in_training_layout_with_a_symbolic_rank()
    {
        var (model, baseGraph) = Base();
        Assert.Equal(BaseSha, baseGraph.BaseSha256);
        var weights = DecoderNames.AdaptableWeights(model.Architecture.Layers).ToList();
        Assert.Equal(2 * 7 * model.Architecture.Layers, baseGraph.LoraInputs.Count);
        foreach (var weight in weights)
        {
            var shape = model.Weights[weight].Shape;
            Assert.Equal([null, shape[1]], baseGraph.LoraInputs[DecoderNames.LoraA(weight)]);
            Assert.Equal([shape[0], null], baseGraph.LoraInputs[DecoderNames.LoraB(weight)]);
        }
    }
}
