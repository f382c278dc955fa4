using Afm.Core.Spec;
using Afm.Training.Adapters;
using Afm.Training.Stages;

namespace Afm.Training.Tests;

/// <summary>
/// Recovery objectives (specs/adapters.md, Objective): the loss the trainer reports at each step is the one it minimizes.
/// Measured on the first step, where a fresh adapter (B = 0) leaves the student exactly the float model: KL to a float
/// teacher is 0 there, and cross-entropy is the model's own.
/// </summary>
public sealed class AdapterObjectiveSpecs
{
    private static AdapterSpec Recovery(AdapterObjective objective, double distillation) => new()
    {
        Name = "recovery-r4", Item = "recovery", Kind = AdapterKind.AccuracyRecovery, Rank = 4, Alpha = 8, Version = "0.0.1",
        Tokens = 4 * 16 * 8, SequenceLength = 16, BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 1, FinalLearningRateRatio = 0.1,
        TrainingStage = "core", Objective = objective, Distillation = distillation,
    };

    private static IReadOnlyList<AdapterTrainPoint> Train(AdapterObjective objective, double distillation)
    {
        var report = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory());
        using var student = AdapterBase.FromFloat(MicroModels.Architecture(), report.FinalWeightsPath);
        using var teacher = AdapterBase.FromFloat(MicroModels.Architecture(), report.FinalWeightsPath);
        using var adapter = LoraAdapter.Create(MicroModels.Architecture(), 4, 8, seed: 1);
        return new AdapterTrainer(student, adapter, Recovery(objective, distillation), null)
            .Train(MicroModels.CountingData()("core", "train"), 11, distillation > 0 ? teacher : null);
    }

    [Fact]
    public void Distill_reports_the_kl_to_the_float_model_which_is_zero_before_the_first_update()
    {
        var curve = Train(AdapterObjective.Distill, 1);
        // Only the first step: from there AdamW turns the rounding-level gradient at the optimum into lr-sized steps.
        Assert.Equal(0, curve[0].Loss, 5);
    }

    [Fact]
    public void Next_token_reports_the_cross_entropy_of_the_batch()
    {
        var curve = Train(AdapterObjective.NextToken, 0);
        Assert.True(curve[0].Loss > 0.05, $"{curve[0].Loss}");
    }

    [Fact]
    public void Mix_reports_the_weighted_sum_which_is_the_cross_entropy_times_one_minus_the_kl_weight_when_the_kl_is_zero()
    {
        double crossEntropy = Train(AdapterObjective.NextToken, 0)[0].Loss;
        Assert.Equal(0.75 * crossEntropy, Train(AdapterObjective.Mix, 0.25)[0].Loss, 4);
    }
}

/// <summary>
/// A batch whose logits are too large to hold (a 151,936-token vocabulary, issue #15) computes the output projection, the
/// loss and their backward pass a chunk of positions at a time: the same loss and adapter gradient as the whole batch at once,
/// up to the order of the sums.
/// </summary>
public sealed class ChunkedAdapterLossSpecs
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.25)]
    [InlineData(1.0)]
    public void Loss_and_gradient_by_chunks_of_positions_equal_the_whole_batchs(double distillation)
    {
        var architecture = MicroModels.Architecture();
        var report = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory());
        using var student = AdapterBase.FromFloat(architecture, report.FinalWeightsPath);
        using var teacher = AdapterBase.FromFloat(architecture, report.FinalWeightsPath);
        using (TorchSharp.torch.no_grad())
            foreach (var p in teacher.parameters().Where(p => p.dim() == 2)) p.mul_(1.1); // a teacher the student differs from
        using var adapter = LoraAdapter.Create(architecture, 4, 8, seed: 1);
        using (TorchSharp.torch.no_grad())
            foreach (var (_, p) in adapter.Parameters()) p.normal_(0, 0.05); // A and B both nonzero: both get gradients
        adapter.Attach(student);
        var data = MicroModels.CountingData()("core", "train");
        const int batch = 3;
        int length = data.SequenceLength;
        var buffer = new int[batch * (length + 1)];
        for (int b = 0; b < batch; b++) data.Read(b * 5, buffer.AsSpan(b * (length + 1), length + 1));
        using var tokens = TorchSharp.torch.tensor(buffer, [batch, length + 1]).to_type(TorchSharp.torch.ScalarType.Int64);
        var inputs = tokens.narrow(1, 0, length);
        var targets = tokens.narrow(1, 1, length);
        var t = distillation > 0 ? teacher : null;

        double whole = AdapterTrainer.Backward(student, inputs, targets, t, distillation);
        var wholeGradients = adapter.Parameters().Select(p => p.Parameter.grad!.clone()).ToList();
        foreach (var (_, p) in adapter.Parameters()) p.grad!.zero_();
        // 7 positions a chunk: 48 positions in 7 chunks, the last one short.
        double chunked = AdapterTrainer.BackwardByChunks(student, inputs, targets, t, distillation, logitsPerChunk: 7 * architecture.VocabSize);
        var chunkedGradients = adapter.Parameters().Select(p => p.Parameter.grad!).ToList();

        Assert.True(whole > 1e-3, $"{whole}");
        Assert.Equal(whole, chunked, 5);
        for (int i = 0; i < wholeGradients.Count; i++)
        {
            double scale = wholeGradients[i].abs().max().item<float>();
            Assert.True(scale > 0, $"gradient {i} is zero");
            Assert.True((wholeGradients[i] - chunkedGradients[i]).abs().max().item<float>() <= 1e-5 * scale, $"gradient {i} differs");
        }
        adapter.Detach();
    }
}
