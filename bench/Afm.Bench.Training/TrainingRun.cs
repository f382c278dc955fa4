using System.Diagnostics;
using Afm.Core.Spec;
using Afm.Training.Model;
using Afm.Training.Optimization;
using Afm.Training.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace Afm.Bench.Training;

/// <summary>Per-step seconds of each phase, the mean over the timed steps.</summary>
/// <param name="HeldOutLoss">Loss of the final float32 (master) weights on fixed batches no step trained on.</param>
internal sealed record StepTimes(double Forward, double Backward, double Optimizer, double HeldOutLoss)
{
    public double Total => Forward + Backward + Optimizer;
}

/// <summary>
/// Trains a model for a few steps on a learnable synthetic stream, the way StageTrainer does (AdamW, global clipping),
/// timing forward, backward and optimizer separately. With <c>bf16</c> the step is StageTrainer's Precision="bf16-mixed"
/// (Afm.Training.Precision.Bf16Compute): forward and backward on a bfloat16 copy of the weights, float32 master weights
/// updated by the optimizer; the copy of the weights into bf16 is counted in the forward time.
/// </summary>
internal static class TrainingRun
{
    public static StepTimes Run(ArchitectureSpec architecture, TrainingStageSpec stage, int warmupSteps, int timedSteps, bool bf16)
    {
        // seed: 1234 does not fix the init (TorchSharp 0.107's nn.init ignores the generator; see AfmDecoder): the
        // fp32 and bf16 runs start from the same weights because Program's SamplePeak reseeds torch's global
        // generator (manual_seed(0)) just before each run, and the bf16 copy puts the generator's state back.
        using var master = new AfmDecoder(architecture, seed: 1234);
        master.train();
        using var mixed = bf16 ? new Bf16Compute(master) : null;
        using var optimizer = OptimizerFactory.Create(master, stage);
        var masterParameters = master.parameters().ToList();

        double forward = 0, backward = 0, update = 0;
        int length = stage.SequenceLength, batch = stage.BatchSize;
        for (int step = 0; step < warmupSteps + timedSteps; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = Batch(step, batch, length, architecture.VocabSize);
            var clock = Stopwatch.StartNew();
            optimizer.ZeroGrad();
            mixed?.LoadMasterWeights(stage.RopeBase);
            var logits = mixed is null ? master.forward(tokens.narrow(1, 0, length)) : mixed.Forward(tokens.narrow(1, 0, length));
            var loss = nn.functional.cross_entropy(logits.reshape(-1, architecture.VocabSize), tokens.narrow(1, 1, length).reshape(-1));
            loss.item<float>(); // CPU ops are synchronous; kept so the forward time includes the loss
            double forwardSeconds = clock.Elapsed.TotalSeconds;
            loss.backward();
            mixed?.StoreGradients();
            double backwardSeconds = clock.Elapsed.TotalSeconds - forwardSeconds;
            nn.utils.clip_grad_norm_(masterParameters, stage.GradientClip);
            optimizer.Step(stage.LearningRate, stage.LearningRate);
            double updateSeconds = clock.Elapsed.TotalSeconds - forwardSeconds - backwardSeconds;
            if (step >= warmupSteps)
            {
                forward += forwardSeconds;
                backward += backwardSeconds;
                update += updateSeconds;
            }
        }
        return new StepTimes(forward / timedSteps, backward / timedSteps, update / timedSteps, HeldOutLoss(master, stage));
    }

    private static double HeldOutLoss(AfmDecoder model, TrainingStageSpec stage)
    {
        model.eval();
        using var noGrad = no_grad();
        double total = 0;
        const int batches = 4;
        for (int i = 0; i < batches; i++)
        {
            using var scope = NewDisposeScope();
            var tokens = Batch(1_000_003 + i, stage.BatchSize, stage.SequenceLength, model.Architecture.VocabSize);
            var logits = model.forward(tokens.narrow(1, 0, stage.SequenceLength));
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), tokens.narrow(1, 1, stage.SequenceLength).reshape(-1)).item<float>();
        }
        return total / batches;
    }

    /// <summary>
    /// Learnable synthetic data, the same for every run: each sequence counts up from a seeded start by a seeded stride
    /// (mod vocabulary), so the loss falls quickly and fp32 and bf16 can be compared after the same steps.
    /// </summary>
    private static Tensor Batch(int step, int batch, int length, int vocab)
    {
        var ids = new long[batch * (length + 1)];
        for (int b = 0; b < batch; b++)
        {
            long start = (step * 7919L + b * 104729L) % vocab, stride = 1 + (step + b) % 5;
            for (int t = 0; t <= length; t++) ids[b * (length + 1) + t] = (start + t * stride) % vocab;
        }
        return tensor(ids, [batch, length + 1]);
    }
}
