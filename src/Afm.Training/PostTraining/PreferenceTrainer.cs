using System.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Checkpoints;
using Afm.Training.Model;
using Afm.Training.Optimization;
using Afm.Training.Stages;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.PostTraining;

/// <summary>
/// The optimizer loop of a reward or dpo stage (specs/post-training.md): batches of preference pairs in the seeded order
/// of <see cref="SequenceSampler"/>, the stage's learning-rate schedule, optimizer and gradient clip, mid-stage
/// checkpoints as language-model stages take them, and held-out measurements every EvalEvery steps.
/// </summary>
internal sealed class PreferenceTrainer : IStageRun
{
    /// <summary>Held-out measurements use at most this many pairs (the first ones, so every run measures the same set).</summary>
    internal const int MaxValidationPairs = 512;
    /// <summary>dpo with a RewardModel: the held-out prompts answered greedily and scored.</summary>
    internal const int MaxScoredPrompts = 64;

    private readonly TrainingStageSpec stage;
    private readonly PreferenceStageSpec settings;
    private readonly PreferencePairs train;
    private readonly PreferencePairs validation;
    private readonly Action<string>? progress;
    private readonly RewardModel? reward;
    private readonly AfmDecoder? policy;
    private readonly AfmDecoder? reference;
    private readonly RewardModel? scorer;
    private readonly string? scorerName;
    private readonly IReadOnlyList<(string name, Parameter parameter)> parameters;

    private PreferenceTrainer(TrainingStageSpec stage, PreferencePairs train, PreferencePairs validation, Action<string>? progress,
        RewardModel? reward, AfmDecoder? policy, AfmDecoder? reference, RewardModel? scorer)
    {
        if (train.ResponseLength != stage.SequenceLength)
            throw new InvalidOperationException($"Stage '{stage.Name}' trains on sequences of {stage.SequenceLength} tokens, but its pairs have {train.ResponseLength}.");
        if (validation.Count == 0) throw new InvalidOperationException($"Stage '{stage.Name}' has no held-out pairs (the data stage refuses this with AFM2004).");
        this.stage = stage;
        settings = stage.Preference ?? new PreferenceStageSpec();
        this.train = train;
        this.validation = validation;
        this.progress = progress;
        this.reward = reward;
        this.policy = policy;
        this.reference = reference;
        this.scorer = scorer;
        scorerName = scorer is null ? null : settings.RewardModel;
        parameters = reward?.NamedParameters() ?? policy!.named_parameters().Select(p => (p.name, p.parameter)).ToList();
    }

    /// <summary>A reward stage: trains <paramref name="model"/> (decoder and head).</summary>
    public static PreferenceTrainer ForReward(RewardModel model, TrainingStageSpec stage, PreferencePairs train, PreferencePairs validation, Action<string>? progress) =>
        new(stage, train, validation, progress, model, null, null, null);

    /// <summary>A dpo stage: trains <paramref name="policy"/> against the frozen <paramref name="reference"/>; <paramref name="scorer"/> (optional) scores greedy answers for the report.</summary>
    public static PreferenceTrainer ForDpo(AfmDecoder policy, AfmDecoder reference, RewardModel? scorer, TrainingStageSpec stage,
        PreferencePairs train, PreferencePairs validation, Action<string>? progress) =>
        new(stage, train, validation, progress, null, policy, reference, scorer);

    public StageOptimizerBase? Optimizer { get; private set; }
    public long SequencesConsumed { get; private set; }

    private nn.Module Trained => (nn.Module?)reward?.Decoder ?? policy!;

    public IEnumerable<(string Name, Tensor Tensor)> Weights() => parameters.Select(p => (p.name, (Tensor)p.parameter));

    public IReadOnlyDictionary<string, string> WeightsMetadata() =>
        reward?.Metadata() ?? StageCheckpoint.WeightsMetadata(policy!);

    public StageReport Run(ulong dataSeed, (ResumeState State, string Directory)? resume, StageTrainer.CheckpointWriter? checkpoint, CancellationToken cancellationToken)
    {
        foreach (var decoder in new[] { reward?.Decoder, policy, reference, scorer?.Decoder }) if (decoder is not null) decoder.RopeBase = stage.RopeBase;
        reference?.eval();
        scorer?.Decoder.eval();
        Trained.train();
        var optimizer = OptimizerFactory.Create(parameters, stage);
        Optimizer = optimizer;
        var sampler = new SequenceSampler(train, dataSeed);
        var tensors = parameters.Select(p => p.parameter).ToList();

        long steps = stage.Steps;
        int batchSize = stage.BatchSize, width = train.SequenceLength + 1;
        var tokens = new int[batchSize * width];
        var mask = new byte[tokens.Length];
        var pairs = new long[batchSize];
        var loop = new StageLoop(stage, 2L * batchSize * stage.SequenceLength, progress);
        // Step 0 is the incoming model on the held-out pairs (for a reward stage: the untrained head, every reward 0).
        double ValidationLoss() => Measure().Loss;
        loop.Start(resume, optimizer, sampler, ValidationLoss);

        for (long step = loop.FirstStep; step < steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            sampler.NextBatch(tokens, batchSize, mask, pairs);
            double lr = LearningRateScheduler.At(stage, step);
            optimizer.ZeroGrad();
            var loss = Loss(Batch.Of(train, tokens, mask, pairs, batchSize));
            loss.backward();
            if (stage.GradientClip > 0) nn.utils.clip_grad_norm_(tensors, stage.GradientClip);
            optimizer.Step(lr, stage.LearningRate);
            loop.Finished(step + 1, loss.item<float>(), lr, ValidationLoss, sampler, checkpoint);
        }

        SequencesConsumed = sampler.Consumed;
        var report = Measure().Report;
        if (scorer is not null) report = report with { RewardModel = scorerName, ScoredPrompts = ScoredPrompts(), MeanRewardReference = MeanGreedyReward(reference!), MeanRewardTrained = MeanGreedyReward(policy!) };
        return loop.Report(perplexity: false, report);
    }

    /// <summary>The stage's training loss on one batch (specs/post-training.md).</summary>
    private Tensor Loss(Batch batch)
    {
        if (reward is not null)
        {
            var rewards = reward.Rewards(batch.Inputs, batch.InputMask);
            var (chosen, rejected) = batch.Halves(rewards);
            var loss = PreferenceLosses.Ranking(chosen, rejected, batch.Targets(settings.SoftLabels));
            return settings.GradeWeight > 0 ? loss + settings.GradeWeight * PreferenceLosses.Grades(rewards, batch.Grades) : loss;
        }
        var ratios = LogRatios(batch);
        var (c, r) = batch.Halves(ratios);
        return PreferenceLosses.Dpo(settings.Loss, settings.Beta, c, r);
    }

    /// <summary>log π(y) - log π_ref(y) of every response of the batch [2n]; the reference without gradients.</summary>
    private Tensor LogRatios(Batch batch)
    {
        var logProbs = PreferenceLosses.SequenceLogProbs(policy!.forward(batch.Inputs), batch.TargetIds, batch.TargetMask);
        Tensor referenceLogProbs;
        using (no_grad()) referenceLogProbs = PreferenceLosses.SequenceLogProbs(reference!.forward(batch.Inputs), batch.TargetIds, batch.TargetMask);
        return logProbs - referenceLogProbs;
    }

    /// <summary>Held-out loss, accuracy and margins over the first <see cref="MaxValidationPairs"/> held-out pairs.</summary>
    private (double Loss, PreferenceReport Report) Measure()
    {
        long count = Math.Min(validation.Count, MaxValidationPairs);
        int width = validation.SequenceLength + 1, batchSize = stage.BatchSize;
        var margins = new List<double>();
        var chosenRewards = new List<double>();
        var rejectedRewards = new List<double>();
        var levels = new List<PreferenceLevel>();
        double lossSum = 0;
        Trained.eval();
        using (no_grad())
        {
            for (long start = 0; start < count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = (int)Math.Min(batchSize, count - start);
                var tokens = new int[n * width];
                var mask = new byte[n * width];
                var pairs = new long[n];
                for (int b = 0; b < n; b++)
                {
                    pairs[b] = start + b;
                    validation.Read(start + b, tokens.AsSpan(b * width, width));
                    validation.ReadLossMask(start + b, mask.AsSpan(b * width, width));
                    levels.Add(validation.Level(start + b));
                }
                var batch = Batch.Of(validation, tokens, mask, pairs, n);
                lossSum += Loss(batch).item<float>() * n;
                var (chosen, rejected) = batch.Halves(reward is not null ? reward.Rewards(batch.Inputs, batch.InputMask) : LogRatios(batch) * settings.Beta);
                chosenRewards.AddRange(chosen.data<float>().ToArray().Select(v => (double)v));
                rejectedRewards.AddRange(rejected.data<float>().ToArray().Select(v => (double)v));
            }
        }
        Trained.train();
        for (int i = 0; i < chosenRewards.Count; i++) margins.Add(chosenRewards[i] - rejectedRewards[i]);
        static double Accuracy(IEnumerable<double> m) => StageTrainer.Round(m.Count(v => v > 0) / (double)Math.Max(1, m.Count()));
        var byLevel = Enum.GetValues<PreferenceLevel>()
            .Select(level => (level, m: margins.Where((_, i) => levels[i] == level).ToList()))
            .Where(l => l.m.Count > 0)
            .Select(l => new LevelResult(PreferenceRecord.LevelNames[(int)l.level], l.m.Count, Accuracy(l.m), StageTrainer.Round(l.m.Average())))
            .ToList();
        var report = new PreferenceReport(reward is not null ? "reward" : "dpo", margins.Count, Accuracy(margins), StageTrainer.Round(margins.Average()), byLevel);
        if (reward is null)
            report = report with { MeanChosenReward = StageTrainer.Round(chosenRewards.Average()), MeanRejectedReward = StageTrainer.Round(rejectedRewards.Average()) };
        return (lossSum / Math.Max(1, count), report);
    }

    private int ScoredPrompts() => (int)Math.Min(validation.Count, MaxScoredPrompts);

    /// <summary>The mean reward the stage's RewardModel gives <paramref name="model"/>'s greedy answers to the first held-out prompts (<see cref="Responses"/>).</summary>
    private double MeanGreedyReward(AfmDecoder model) => Responses.MeanGreedyReward(model, scorer!, validation, ScoredPrompts());

    /// <summary>
    /// n pairs as 2n rows: the n chosen responses, then the n rejected ones. Inputs are the first L tokens of each row,
    /// targets the next ones (masked to the response and its end-of-document), InputMask the inputs that are the response's.
    /// </summary>
    private sealed class Batch
    {
        private PreferencePairs source = null!;
        private long[] pairs = [];
        public Tensor Inputs { get; private init; } = null!;
        public Tensor TargetIds { get; private init; } = null!;
        public Tensor TargetMask { get; private init; } = null!;
        public Tensor InputMask { get; private init; } = null!;
        public Tensor Grades { get; private init; } = null!;
        public int Pairs { get; private init; }

        public static Batch Of(PreferencePairs source, int[] tokens, byte[] mask, long[] pairs, int n)
        {
            int length = source.ResponseLength, width = length + 1;
            var rows = tensor(tokens.AsSpan(0, n * 2 * width).ToArray(), [n, 2, width]).transpose(0, 1).reshape(2 * n, width).to_type(ScalarType.Int64);
            var masks = tensor(mask.AsSpan(0, n * 2 * width).ToArray(), [n, 2, width]).transpose(0, 1).reshape(2 * n, width).to_type(ScalarType.Float32);
            var grades = new float[2 * n];
            for (int b = 0; b < n; b++)
                for (int k = 0; k < 2; k++)
                    grades[k * n + b] = k == 0 ? source.ChosenGrade(pairs[b]) : source.RejectedGrade(pairs[b]);
            return new Batch
            {
                source = source, pairs = pairs, Pairs = n,
                Inputs = rows.narrow(1, 0, length),
                TargetIds = rows.narrow(1, 1, length),
                TargetMask = masks.narrow(1, 1, length),
                InputMask = masks.narrow(1, 0, length),
                Grades = tensor(grades),
            };
        }

        /// <summary>The per-pair Bradley-Terry targets (specs/post-training.md).</summary>
        public Tensor Targets(bool softLabels) =>
            tensor(Enumerable.Range(0, Pairs).Select(b => (float)PreferenceLosses.Target(source.Level(pairs[b]), softLabels)).ToArray());

        public (Tensor Chosen, Tensor Rejected) Halves(Tensor rows) => (rows.narrow(0, 0, Pairs), rows.narrow(0, Pairs, Pairs));
    }
}
