using Afm.Compression.Calibration;
using Afm.Compression.Storage;
using Afm.Training.Stages;

namespace Afm.Compression.Tests;

/// <summary>
/// The quantize stage measures its statistics a group of layers at a time so that a large model's fit beside it (issue #15);
/// the grouping must not change a single value.
/// </summary>
public sealed class CalibrationGroupSpecs
{
    private static readonly IReadOnlyList<long> Sequences = [0, 7, 14, 21];

    [Fact]
    public void Fisher_importance_measured_one_matrix_at_a_time_equals_the_whole_model_at_once()
    {
        var model = AssertGroupingChangesNothing((m, data, bytes) => FisherImportance.Measure(m, data, Sequences, groupBytes: bytes), expectedCount: 15);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad)); // left as found
        model.Dispose();
    }

    [Fact]
    public void Fisher_importance_covers_only_the_named_matrices()
    {
        using var model = Trainer.LoadModel(MicroModel.Architecture, MicroModel.WeightsPath);
        using var some = FisherImportance.Measure(model, MicroModel.Data("train"), Sequences, ["layers.1.mlp.down_proj.weight"]);

        Assert.Equal(["layers.1.mlp.down_proj.weight"], some.Keys);
        Assert.Equal(64 * 32, some["layers.1.mlp.down_proj.weight"].Length);
    }

    [Fact]
    public void Input_second_moments_measured_one_projection_at_a_time_equal_all_at_once() =>
        AssertGroupingChangesNothing((m, data, bytes) => InputCovariance.Measure(m, data, Sequences, bytes), expectedCount: 14).Dispose(); // 7 projections in 2 layers

    /// <summary>Measures with no limit and with one tensor per group; returns the model it loaded.</summary>
    private static Training.Model.AfmDecoder AssertGroupingChangesNothing<T>(
        Func<Training.Model.AfmDecoder, Data.Packing.IPackedSequences, long, SpilledArrays<T>> measure, int expectedCount) where T : unmanaged
    {
        var model = Trainer.LoadModel(MicroModel.Architecture, MicroModel.WeightsPath);
        var data = MicroModel.Data("train");
        using var whole = measure(model, data, long.MaxValue);
        using var single = measure(model, data, 1);
        Assert.Equal(expectedCount, whole.Count);
        Assert.Equal(whole.Keys, single.Keys);
        foreach (var name in whole.Keys) Assert.Equal(whole[name], single[name]);
        return model;
    }

    [Fact]
    public void Weights_read_from_the_file_equal_the_loaded_model()
    {
        using var model = Trainer.LoadModel(MicroModel.Architecture, MicroModel.WeightsPath);
        var file = new WeightsFileArrays(MicroModel.WeightsPath);

        foreach (var (name, _, values) in ModelWeights.Read(model)) Assert.Equal(values, file[name]);
    }
}

/// <summary>
/// The sensitivity passes run from the replaced layer's kept input instead of the whole model (issue #15): every loss
/// increase must be the one a whole forward pass gives, bit for bit, whatever number of inputs is kept.
/// </summary>
public sealed class SensitivityKeptInputSpecs
{
    private static readonly IReadOnlyList<long> Sequences = [0, 7, 14, 21];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Passes_from_kept_layer_inputs_give_the_whole_models_loss_increases(bool generalized)
    {
        var architecture = generalized ? MicroModel.Generalized : MicroModel.Architecture;
        using var model = Trainer.LoadModel(architecture, MicroModel.WeightsPathOf(architecture));
        var file = new WeightsFileArrays(MicroModel.WeightsPathOf(architecture));
        var data = MicroModel.Data("train");
        long perLayer = Sequences.Count * (long)data.SequenceLength * architecture.ModelDim * sizeof(float);
        // No input kept (every pass the whole model), every layer's input kept, every second one's (2 layers: the first and the output).
        using var whole = new SensitivityAnalysis(model, data, Sequences, keepBytes: 0);
        using var everyLayer = new SensitivityAnalysis(model, data, Sequences, keepBytes: long.MaxValue);
        using var everySecond = new SensitivityAnalysis(model, data, Sequences, keepBytes: 2 * perLayer);
        Assert.Equal(whole.FloatLoss, everyLayer.FloatLoss);
        Assert.Equal(whole.FloatLoss, everySecond.FloatLoss);

        var names = model.named_parameters().Select(p => (p.name, Shape: p.parameter.shape.ToArray())).ToList();
        Assert.Contains(names, n => n.name == "norm.weight");
        if (generalized) Assert.Contains(names, n => n.name == "lm_head.weight");
        int changed = 0;
        foreach (var (name, shape) in names)
        {
            var perturbed = file[name].Select((v, i) => v * (1 + 0.05f * ((i % 7) - 3))).ToArray();
            var tensor = new FloatTensor(name, shape, perturbed);
            double expected = whole.LossIncrease(tensor, () => ModelWeights.Restore(model, name, file));
            Assert.Equal(expected, everyLayer.LossIncrease(tensor, () => ModelWeights.Restore(model, name, file)));
            Assert.Equal(expected, everySecond.LossIncrease(tensor, () => ModelWeights.Restore(model, name, file)));
            if (expected != 0) changed++;
        }
        Assert.True(changed > names.Count / 2, $"only {changed} of {names.Count} perturbations changed the loss");
        // The float values are back: the float loss is measured again unchanged.
        Assert.Equal(whole.FloatLoss, Evaluator.MeanLoss(model, data, Sequences));
    }
}
