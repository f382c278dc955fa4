using System.Diagnostics;
using System.Globalization;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Checkpoints;
using Afm.Training.Model;
using Afm.Training.Optimization;
using Afm.Training.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace Afm.Training.Stages;

/// <summary>Runs one training stage's optimizer loop on a model, with validation and progress lines.</summary>
internal sealed class StageTrainer : IStageRun
{
    /// <summary>Validation uses at most this many sequences (the first ones, so every run measures the same set).</summary>
    internal const int MaxValidationSequences = 512;

    private readonly AfmDecoder model;
    private readonly TrainingStageSpec stage;
    private readonly IPackedSequences train;
    private readonly IPackedSequences? validation;
    private readonly Action<string>? progress;

    public StageTrainer(AfmDecoder model, TrainingStageSpec stage, IPackedSequences train, IPackedSequences? validation, Action<string>? progress)
    {
        if (train.SequenceLength != stage.SequenceLength)
            throw new InvalidOperationException($"Stage '{stage.Name}' trains on sequences of {stage.SequenceLength} tokens, but its data has {train.SequenceLength}.");
        if (stage.SequenceLength > model.Architecture.MaxSequenceLength)
            throw new InvalidOperationException($"Stage '{stage.Name}' uses sequences of {stage.SequenceLength} tokens, above the model's MaxSequenceLength {model.Architecture.MaxSequenceLength}.");
        if (train.VocabSize > model.Architecture.VocabSize)
            throw new InvalidOperationException($"Stage '{stage.Name}' data has vocabulary {train.VocabSize}, larger than the model's {model.Architecture.VocabSize}.");
        this.model = model;
        this.stage = stage;
        this.train = train;
        this.validation = validation is { Count: > 0 } ? validation : null;
        this.progress = progress;
    }

    public StageOptimizerBase? Optimizer { get; private set; }
    /// <summary>With a teacher, the loss is the distillation loss (Distillation/DistillationLoss.cs); validation stays plain next-token loss.</summary>
    public Distillation.TeacherModel? Teacher { get; init; }
    /// <summary>What the passes compute in (the stage's resolved Precision); validation always measures the float32 masters.</summary>
    public PrecisionDecision Precision { get; init; } = new(TrainingPrecision.Fp32, false, "declared");
    public long SequencesConsumed { get; private set; }

    public IEnumerable<(string Name, Tensor Tensor)> Weights() => model.named_parameters().Select(p => (p.name, (Tensor)p.parameter));
    public IReadOnlyDictionary<string, string> WeightsMetadata() => StageCheckpoint.WeightsMetadata(model);

    /// <summary>Called after every <c>CheckpointEvery</c> steps (not after the last): step, data position, curves so far.</summary>
    public delegate void CheckpointWriter(long step, long sequencesConsumed, IReadOnlyList<TrainPoint> trainCurve, IReadOnlyList<ValidationPoint> validationCurve,
        IReadOnlyList<ValidationPoint>? mixValidationCurve);

    /// <summary>An sft stage's pretraining mix: part of every batch, with the next-token loss (<see cref="PretrainingMix"/>).</summary>
    public PretrainingMix? Mix { get; init; }

    /// <param name="resume">A mid-stage checkpoint to continue from; the caller has loaded its weights into the model.</param>
    public StageReport Run(ulong dataSeed, (ResumeState State, string Directory)? resume = null, CheckpointWriter? checkpoint = null,
        CancellationToken cancellationToken = default)
    {
        model.RopeBase = stage.RopeBase;
        model.train();
        var optimizer = OptimizerFactory.Create(model, stage);
        Optimizer = optimizer;
        var sampler = new SequenceSampler(train, dataSeed);
        var parameters = model.parameters().ToList();
        using var bf16 = Precision.Bf16Mixed ? new Bf16Compute(model) : null;

        // With a pretraining mix, the batch's last rows come from it, in its own order; the stage's own data fill the rest.
        long steps = stage.Steps, length = stage.SequenceLength, mixed = Mix?.SequencesPerBatch ?? 0, batchSize = stage.BatchSize - mixed;
        var buffer = new int[batchSize * (length + 1)];
        // sft stages: the loss counts only response targets (the data stage wrote a mask next to the tokens).
        var maskBuffer = train is ILossMaskedSequences ? new byte[buffer.Length] : [];
        var mixSampler = Mix is null ? null : new SequenceSampler(Mix.Train, PretrainingMix.Seed(dataSeed));
        var mixBuffer = new int[mixed * (length + 1)];
        var loop = new StageLoop(stage, stage.BatchSize * length, progress)
        {
            MixValidationLoss = Mix?.Validation is { } mixValidation ? () => ValidationLoss(mixValidation) : null,
        };
        // Step 0 of the validation curve is the incoming weights (the previous stage's) measured on this stage's
        // data: for context lengthening, the loss at the long length before the stage, to compare with after.
        Func<double>? validationLoss = validation is null ? null : ValidationLoss;
        loop.Start(resume, optimizer, sampler, validationLoss);
        // The mix's position is a function of the step: every step takes the same number of its sequences.
        mixSampler?.Seek(loop.FirstStep * mixed);

        for (long step = loop.FirstStep; step < steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            sampler.NextBatch(buffer, (int)batchSize, maskBuffer);
            var batch = tensor(buffer, [batchSize, length + 1]).to_type(ScalarType.Int64);
            mixSampler?.NextBatch(mixBuffer, (int)mixed);
            var mixBatch = mixSampler is null ? null : tensor(mixBuffer, [mixed, length + 1]).to_type(ScalarType.Int64);
            var inputs = (mixBatch is null ? batch : cat([batch, mixBatch], 0)).narrow(1, 0, length);

            double lr = LearningRateScheduler.At(stage, step);
            optimizer.ZeroGrad();
            bf16?.LoadMasterWeights(stage.RopeBase);
            var logits = bf16 is null ? model.forward(inputs) : bf16.Forward(inputs);
            var loss = Loss(logits.narrow(0, 0, batchSize), batch, maskBuffer, inputs.narrow(0, 0, batchSize));
            if (mixBatch is not null)
                loss = Mix!.Combine(loss, Loss(logits.narrow(0, batchSize, mixed), mixBatch, [], inputs.narrow(0, batchSize, mixed)));
            loss.backward();
            bf16?.StoreGradients();
            if (stage.GradientClip > 0) nn.utils.clip_grad_norm_(parameters, stage.GradientClip);
            optimizer.Step(lr, stage.LearningRate);
            loop.Finished(step + 1, loss.item<float>(), lr, validationLoss, sampler, checkpoint);
        }

        SequencesConsumed = sampler.Consumed;
        var report = loop.Report(perplexity: true);
        return Mix is null ? report : report with { Mix = Mix.Report(loop.MixValidationCurve) };
    }

    /// <summary>
    /// The training loss of one part of the batch: over the response targets when <paramref name="mask"/> is not empty
    /// (sft), else over every next token; with a teacher, its distillation loss on the same targets. Weight 0 (pruned
    /// initialization only) needs no teacher forward: the loss is the plain one.
    /// </summary>
    private Tensor Loss(Tensor logits, Tensor batch, byte[] mask, Tensor inputs)
    {
        long rows = batch.shape[0], length = stage.SequenceLength;
        var targets = mask.Length > 0 ? MaskedLoss.Targets(batch, mask, rows, length) : batch.narrow(1, 1, length);
        if (Teacher is { Weight: > 0 }) return Teacher.Loss(logits, targets, inputs);
        return mask.Length > 0 ? MaskedLoss.Loss(logits, targets).Loss
            : nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));
    }

    /// <summary>Mean next-token loss over the first <see cref="MaxValidationSequences"/> validation sequences.</summary>
    internal double ValidationLoss() => ValidationLoss(validation!);

    /// <summary>As <see cref="ValidationLoss()"/> on <paramref name="source"/> (the stage's own held-out data, or its pretraining mix's).</summary>
    private double ValidationLoss(IPackedSequences source)
    {
        if (source is ILossMaskedSequences masked) return MaskedValidationLoss(masked);
        long count = Math.Min(source.Count, MaxValidationSequences);
        int length = source.SequenceLength, batchSize = Math.Max(1, stage.BatchSize);
        var buffer = new int[batchSize * (length + 1)];
        double total = 0;
        model.eval();
        using (no_grad())
        {
            for (long start = 0; start < count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = (int)Math.Min(batchSize, count - start);
                for (int b = 0; b < n; b++) source.Read(start + b, buffer.AsSpan(b * (length + 1), length + 1));
                var batch = tensor(buffer, [batchSize, length + 1]).narrow(0, 0, n).to_type(ScalarType.Int64);
                var logits = model.forward(batch.narrow(1, 0, length));
                var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), batch.narrow(1, 1, length).reshape(-1));
                total += loss.item<float>() * n;
            }
        }
        model.train();
        return total / count;
    }

    /// <summary>Mean loss over the response targets of the first <see cref="MaxValidationSequences"/> validation sequences.</summary>
    private double MaskedValidationLoss(ILossMaskedSequences source)
    {
        long count = Math.Min(source.Count, MaxValidationSequences);
        int length = source.SequenceLength, width = length + 1;
        double total = 0;
        long counted = 0;
        model.eval();
        using (no_grad())
        {
            for (long start = 0; start < count; start += stage.BatchSize)
            {
                using var scope = NewDisposeScope();
                int n = (int)Math.Min(stage.BatchSize, count - start);
                var buffer = new int[n * width];
                var mask = new byte[n * width];
                for (int b = 0; b < n; b++)
                {
                    source.Read(start + b, buffer.AsSpan(b * width, width));
                    source.ReadLossMask(start + b, mask.AsSpan(b * width, width));
                }
                var batch = tensor(buffer, [n, width]).to_type(ScalarType.Int64);
                var (loss, targets) = MaskedLoss.Loss(model.forward(batch.narrow(1, 0, length)), MaskedLoss.Targets(batch, mask, n, length));
                total += loss.item<float>() * (double)targets;
                counted += targets;
            }
        }
        model.train();
        return total / Math.Max(1, counted);
    }

    /// <param name="doneHere">Steps this process ran (a resumed stage measures its own speed).</param>
    internal static string ProgressLine(string stageName, long doneHere, long done, long steps, double loss, double lr, long tokens, TimeSpan elapsed)
    {
        double tokensPerSecond = tokens / Math.Max(1e-9, elapsed.TotalSeconds);
        var eta = TimeSpan.FromSeconds((steps - done) * elapsed.TotalSeconds / Math.Max(1, doneHere));
        string rate = tokensPerSecond >= 1000 ? $"{tokensPerSecond / 1000:0.0}k" : $"{tokensPerSecond:0}";
        return string.Create(CultureInfo.InvariantCulture,
            $"train {stageName}: step {done}/{steps} loss {loss:0.000} lr {lr:0.0e0} {rate} tok/s eta {(int)eta.TotalMinutes:00}:{eta.Seconds:00}");
    }

    /// <summary>Six decimals: plenty for curves, and keeps the JSON short and stable.</summary>
    internal static double Round(double value) => Math.Round(value, 6, MidpointRounding.ToEven);
}
