using Afm.Compression.Calibration;
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
