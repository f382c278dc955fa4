using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Runtime.Generation;
using Afm.Training.Checkpoints;
using Afm.Training.Model;
using Afm.Training.Optimization;
using Afm.Training.Stages;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.PostTraining;

/// <summary>
/// An rl stage (AFM 4.3.3, MDLOO; specs/post-training.md, where the update is written out): each step the policy answers
/// a batch of training prompts <c>Samples</c> times with the seeded sampler; an answer's reward is the reward model's score
/// minus β x its sequence KL to the frozen reference; its advantage is its reward minus the mean of the other answers to
/// the same prompt (leave-one-out); then <c>PolicySteps</c> gradient steps on the mirror-descent objective of Tomar et al.'s
/// on-policy MDPO: the importance-weighted advantage minus <c>TrustRegion</c> x the KL from the step's starting policy,
/// a KL-regularized trust region instead of PPO's clipping.
/// </summary>
internal sealed class MdlooTrainer(AfmDecoder policy, AfmDecoder reference, RewardModel scorer, TrainingStageSpec stage,
    PreferencePairs train, PreferencePairs validation, Action<string>? progress) : IStageRun
{
    /// <summary>Held-out prompts answered greedily for the validation curve (minus their mean reward); the report uses <see cref="PreferenceTrainer.MaxScoredPrompts"/>.</summary>
    private const int CurvePrompts = 16;

    private readonly PreferenceStageSpec settings = Responses.SamplingSettings(stage, validation);
    private readonly IReadOnlyList<(string name, Parameter parameter)> parameters = policy.named_parameters().Select(p => (p.name, p.parameter)).ToList();

    public StageOptimizerBase? Optimizer { get; private set; }
    public long SequencesConsumed { get; private set; }
    public IEnumerable<(string Name, Tensor Tensor)> Weights() => parameters.Select(p => (p.name, (Tensor)p.parameter));
    public IReadOnlyDictionary<string, string> WeightsMetadata() => StageCheckpoint.WeightsMetadata(policy);

    private int Samples => settings.Samples!.Value;
    private int PromptsPerStep => Math.Max(1, stage.BatchSize / Samples);

    public StageReport Run(ulong dataSeed, (ResumeState State, string Directory)? resume, StageTrainer.CheckpointWriter? checkpoint, CancellationToken cancellationToken)
    {
        policy.RopeBase = reference.RopeBase = stage.RopeBase;
        reference.eval();
        scorer.Decoder.eval();
        int scored = (int)Math.Min(validation.Count, PreferenceTrainer.MaxScoredPrompts);
        double incoming = Responses.MeanGreedyReward(reference, scorer, validation, scored);
        policy.train();
        var optimizer = OptimizerFactory.Create(parameters, stage);
        Optimizer = optimizer;
        var sampler = new SequenceSampler(train, dataSeed);
        var tensors = parameters.Select(p => p.parameter).ToList();
        int prompts = PromptsPerStep, length = train.ResponseLength;
        var pairTokens = new int[prompts * (train.SequenceLength + 1)];
        var pairMask = new byte[pairTokens.Length];
        var pairs = new long[prompts];
        var loop = new StageLoop(stage, (long)prompts * Samples * length, progress);
        double ValidationLoss() => -Responses.MeanGreedyReward(policy, scorer, validation, (int)Math.Min(validation.Count, CurvePrompts));
        loop.Start(resume, optimizer, sampler, ValidationLoss);

        for (long step = loop.FirstStep; step < stage.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            sampler.NextBatch(pairTokens, prompts, pairMask, pairs);
            var batch = Answer(pairs, dataSeed, step);
            double lr = LearningRateScheduler.At(stage, step);
            for (int m = 0; m < settings.PolicySteps!.Value; m++)
            {
                using var inner = NewDisposeScope();
                optimizer.ZeroGrad();
                Objective(batch).backward();
                if (stage.GradientClip > 0) nn.utils.clip_grad_norm_(tensors, stage.GradientClip);
                optimizer.Step(lr, stage.LearningRate);
            }
            // The curve's "loss" is minus the mean KL-regularized reward of the step's answers: the surrogate itself starts
            // every step at 0 (leave-one-out advantages sum to 0 per prompt), so it says nothing about progress.
            loop.Finished(step + 1, -batch.MeanReward, lr, ValidationLoss, sampler, checkpoint);
        }

        SequencesConsumed = sampler.Consumed;
        var report = new SamplingReport(StageKinds.Name(stage.Kind), settings.RewardModel!, Samples, settings.Temperature!.Value,
            stage.Steps * prompts, scored, incoming, Responses.MeanGreedyReward(policy, scorer, validation, scored));
        return loop.Report(perplexity: false) with { Sampling = report };
    }

    /// <summary>One step's answers with what the update needs, all without gradients: the starting policy's log-probabilities (whole distributions, for the KL), the advantages.</summary>
    private sealed record Answers(Tensor Inputs, Tensor Targets, Tensor Mask, Tensor OldLogProbs, Tensor Advantages, double MeanReward);

    private Answers Answer(long[] pairs, ulong dataSeed, long step)
    {
        int length = train.ResponseLength, n = pairs.Length * Samples;
        var rows = new long[n * (length + 1)];
        var mask = new float[n * length];
        var sequences = new List<long[]>(n);
        var responseStarts = new List<int>(n);
        int endOfDocument = 0;
        policy.eval();
        using (no_grad())
        {
            for (int j = 0; j < pairs.Length; j++)
            {
                (var prompt, endOfDocument) = Responses.Prompt(train, pairs[j]);
                var samplers = Enumerable.Range(0, Samples).Select(s => Responses.Seeded(settings.Temperature!.Value, dataSeed, step, j, s)).ToList();
                foreach (var answer in Responses.Generate(policy, prompt, endOfDocument, length, samplers))
                {
                    int row = sequences.Count;
                    Array.Fill(rows, endOfDocument, row * (length + 1), length + 1);
                    for (int i = 0; i < answer.Length; i++) rows[row * (length + 1) + i] = answer[i];
                    // Target position t predicts token t + 1: the answer's tokens and its end-of-document.
                    for (int t = prompt.Length - 1; t < answer.Length - 1; t++) mask[row * length + t] = 1;
                    sequences.Add(answer);
                    responseStarts.Add(prompt.Length);
                }
            }
            var all = tensor(rows, [n, length + 1]);
            var inputs = all.narrow(1, 0, length);
            var targets = all.narrow(1, 1, length);
            var maskTensor = tensor(mask, [n, length]);
            var oldLogProbs = nn.functional.log_softmax(policy.forward(inputs), -1);
            var referenceLogProbs = nn.functional.log_softmax(reference.forward(inputs), -1);
            var oldTokens = oldLogProbs.gather(2, targets.unsqueeze(2)).squeeze(2);
            var referenceTokens = referenceLogProbs.gather(2, targets.unsqueeze(2)).squeeze(2);
            // The sequence KL to the reference, estimated on the sampled answer: sum over its tokens of log π - log π_ref.
            var kl = ((oldTokens - referenceTokens) * maskTensor).sum(1);
            var rewards = tensor(Responses.Score(scorer, sequences, responseStarts, endOfDocument).Select(v => (float)v).ToArray()) - settings.Beta * kl;
            var grouped = rewards.view(pairs.Length, Samples);
            var advantages = PreferenceLosses.LeaveOneOut(grouped).reshape(n);
            policy.train();
            return new Answers(inputs.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope(), maskTensor.MoveToOuterDisposeScope(),
                oldLogProbs.MoveToOuterDisposeScope(), advantages.MoveToOuterDisposeScope(),
                rewards.mean().item<float>());
        }
    }

    /// <summary>The MDPO objective to minimize (<see cref="PreferenceLosses.MirrorDescent"/>, specs/post-training.md).</summary>
    private Tensor Objective(Answers batch) =>
        PreferenceLosses.MirrorDescent(nn.functional.log_softmax(policy.forward(batch.Inputs), -1), batch.OldLogProbs, batch.Targets,
            batch.Mask, batch.Advantages, settings.TrustRegion!.Value);
}
