using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

public sealed class EvaluatorSpecs
{
    [Fact]
    public void The_divergence_of_a_model_from_itself_is_zero_and_grows_with_a_perturbation()
    {
        var report = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory());
        using var reference = Trainer.LoadModel(MicroModels.Architecture(), report.FinalWeightsPath);
        using var model = Trainer.LoadModel(MicroModels.Architecture(), report.FinalWeightsPath);
        var validation = MicroModels.CountingData()("core", "validation");
        var indices = Evaluator.Spread(validation, 8);
        var same = Evaluator.MeanLossAndDivergence(reference, model, validation, indices);
        Assert.Equal(0, same.Divergence, 12);
        Assert.Equal(Evaluator.MeanLoss(model, validation, indices), same.Loss);
        Assert.Equal(Evaluator.MeanLoss(reference, validation, indices), same.ReferenceLoss);

        var weight = model.named_parameters().First(p => p.name.EndsWith("mlp.up_proj.weight", StringComparison.Ordinal)).parameter;
        double Perturbed(double scale)
        {
            using (no_grad()) weight.copy_(reference.named_parameters().First(p => p.name.EndsWith("mlp.up_proj.weight", StringComparison.Ordinal)).parameter * (1 + scale));
            return Evaluator.MeanLossAndDivergence(reference, model, validation, indices).Divergence;
        }
        double small = Perturbed(0.05), large = Perturbed(0.5);
        Assert.True(small > 0, $"divergence {small}");
        Assert.True(large > small, $"divergence {large} at 50% vs {small} at 5%");
    }

    [Fact]
    public void One_reference_pass_for_several_models_gives_each_the_values_it_gets_alone()
    {
        var (reference, small, large, _) = ScaledModels();
        using var disposeReference = reference;
        using var disposeSmall = small;
        using var disposeLarge = large;
        var validation = MicroModels.CountingData()("core", "validation");
        var indices = Evaluator.Spread(validation, 8);
        var together = Evaluator.MeanLossesAndDivergences([reference, small, large], reference.forward, [small.forward, large.forward], validation, indices);
        var alone = new[] { small, large }.Select(m => Evaluator.MeanLossAndDivergence(reference, m, validation, indices)).ToArray();
        Assert.Equal(alone[0].ReferenceLoss, together.ReferenceLoss);
        for (int v = 0; v < 2; v++)
        {
            Assert.Equal(alone[v].Loss, together.Variants[v].Loss);
            Assert.Equal(alone[v].Divergence, together.Variants[v].Divergence);
        }
        Assert.True(together.Variants[1].Divergence > together.Variants[0].Divergence);
    }

    [Fact]
    public void Variants_measured_in_turn_on_one_model_give_the_values_of_the_batch_by_batch_order()
    {
        var (reference, small, large, weights) = ScaledModels();
        using var disposeReference = reference;
        using var disposeSmall = small;
        using var disposeLarge = large;
        using var one = Trainer.LoadModel(MicroModels.Architecture(), weights);
        var validation = MicroModels.CountingData()("core", "validation");
        var indices = Evaluator.Spread(validation, 8);
        var together = Evaluator.MeanLossesAndDivergences([reference, small, large], reference.forward, [small.forward, large.forward], validation, indices, batchSize: 3);

        void Use(Afm.Training.Model.AfmDecoder from)
        {
            using var noGrad = no_grad();
            foreach (var ((_, to), (_, source)) in one.named_parameters().Zip(from.named_parameters())) to.copy_(source);
        }
        var kept = new Dictionary<int, Tensor>();
        var inTurn = Evaluator.MeanLossesAndDivergencesInTurn(one, () => Use(reference), [() => Use(small), () => Use(large)],
            (batch, logits) => kept.Add(batch, logits.clone().DetachFromDisposeScope()), batch => kept[batch].alias(), validation, indices, batchSize: 3);

        Assert.Equal(3, kept.Count); // 8 sequences in batches of 3
        Assert.Equal(together.ReferenceLoss, inTurn.ReferenceLoss);
        for (int v = 0; v < 2; v++)
        {
            Assert.Equal(together.Variants[v].Loss, inTurn.Variants[v].Loss);
            Assert.Equal(together.Variants[v].Divergence, inTurn.Variants[v].Divergence);
        }
        foreach (var logits in kept.Values) logits.Dispose();
    }

    /// <summary>The trained micro model, and two copies with their matrices scaled by 1.05 and 1.5; the weights file's path.</summary>
    private static (Afm.Training.Model.AfmDecoder Reference, Afm.Training.Model.AfmDecoder Small, Afm.Training.Model.AfmDecoder Large, string Weights) ScaledModels()
    {
        var report = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory());
        var models = new[] { 1.0, 1.05, 1.5 }.Select(scale =>
        {
            var model = Trainer.LoadModel(MicroModels.Architecture(), report.FinalWeightsPath);
            if (scale != 1.0)
                using (no_grad())
                    foreach (var p in model.parameters().Where(p => p.dim() == 2)) p.mul_(scale);
            return model;
        }).ToArray();
        return (models[0], models[1], models[2], report.FinalWeightsPath);
    }
}
