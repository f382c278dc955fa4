using System.Diagnostics;
using System.Globalization;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.Optimization;
using Afm.Training.Precision;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Adapters;

/// <summary>One point of an adapter's training curve.</summary>
public sealed record AdapterTrainPoint(long Step, double LearningRate, double Loss);

/// <summary>
/// Trains one LoRA adapter on a frozen base: AdamW (no weight decay) on A and B only, linear warm-up then cosine
/// to LearningRate * FinalLearningRateRatio, global gradient-norm clipping at 1. The loss is next-token
/// cross-entropy (response targets only when the data has a loss mask, as sft stages), optionally mixed with
/// distillation from a teacher (the float model): (1 - w) * CE + w * KL(teacher || student) per target token.
/// Under bf16-mixed <see cref="Precision"/> the passes run on frozen bfloat16 copies of the base and the teacher, made for
/// the training only; A and B stay float32 (the LoRA hook rounds them to the input's type) and losses are float32.
/// </summary>
public sealed class AdapterTrainer(AfmDecoder baseModel, LoraAdapter adapter, AdapterSpec spec, Action<string>? progress)
{
    private const double GradientClip = 1.0;
    private const int CurvePoints = 100;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    /// <summary>What the passes compute in (the adapter's resolved Precision).</summary>
    public PrecisionDecision Precision { get; init; } = new(TrainingPrecision.Fp32, false, "declared");

    /// <param name="teacher">Required when the spec's Distillation is above 0; its parameters must be frozen.</param>
    public IReadOnlyList<AdapterTrainPoint> Train(IPackedSequences data, ulong dataSeed, AfmDecoder? teacher = null,
        CancellationToken cancellationToken = default)
    {
        if (data.SequenceLength != spec.SequenceLength)
            throw new InvalidOperationException($"Adapter '{spec.Name}' trains on sequences of {spec.SequenceLength} tokens, but its data has {data.SequenceLength}.");
        if (spec.Distillation > 0 && teacher is null) throw new ArgumentException("Distillation needs the float model as teacher.", nameof(teacher));
        var parameters = adapter.Parameters().Select(p => new OptimizedParameter(p.Name, p.Parameter, Decay: false)).ToList();
        using var optimizer = new AdamWOptimizer(parameters, weightDecay: 0);
        var clipped = parameters.Select(p => p.Parameter).ToList();
        var sampler = new SequenceSampler(data, dataSeed);
        long steps = spec.Steps, length = spec.SequenceLength, batchSize = spec.BatchSize;
        var buffer = new int[batchSize * (length + 1)];
        var mask = data is ILossMaskedSequences ? new byte[buffer.Length] : [];
        long curveEvery = Math.Max(1, steps / CurvePoints);
        var curve = new List<AdapterTrainPoint>();
        var clock = Stopwatch.StartNew();
        var lastProgress = TimeSpan.Zero;

        using var computeBase = Precision.Bf16Mixed ? AdapterBase.Freeze(AfmDecoder.CopyAs(baseModel, ScalarType.BFloat16)) : null;
        using var computeTeacher = Precision.Bf16Mixed && teacher is not null ? AdapterBase.Freeze(AfmDecoder.CopyAs(teacher, ScalarType.BFloat16)) : null;
        var model = computeBase ?? baseModel;
        teacher = computeTeacher ?? teacher;
        adapter.Attach(model);
        try
        {
            model.train();
            for (long step = 0; step < steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                sampler.NextBatch(buffer, (int)batchSize, mask);
                var batch = tensor(buffer, [batchSize, length + 1]).to_type(ScalarType.Int64);
                var inputs = batch.narrow(1, 0, length);
                var targets = mask.Length > 0 ? MaskedLoss.Targets(batch, mask, batchSize, length) : batch.narrow(1, 1, length);
                double lr = LearningRateScheduler.At(spec.LearningRate, spec.FinalLearningRateRatio, LearningRateSchedule.Cosine,
                    spec.WarmupSteps, steps, step);
                optimizer.ZeroGrad();
                double value = batchSize * length * model.Architecture.VocabSize > Evaluator.LogitsPerBatch
                    ? BackwardByChunks(model, inputs, targets, spec.Distillation > 0 ? teacher : null, spec.Distillation)
                    : Backward(model, inputs, targets, spec.Distillation > 0 ? teacher : null, spec.Distillation);
                nn.utils.clip_grad_norm_(clipped, GradientClip);
                optimizer.Step(lr, spec.LearningRate);

                long done = step + 1;
                if (done % curveEvery == 0 || done == steps) curve.Add(new AdapterTrainPoint(done, Round(lr), Round(value)));
                if (progress is not null && (clock.Elapsed - lastProgress >= ProgressInterval || done == steps))
                {
                    lastProgress = clock.Elapsed;
                    var eta = TimeSpan.FromSeconds((steps - done) * clock.Elapsed.TotalSeconds / done);
                    progress(string.Create(CultureInfo.InvariantCulture,
                        $"adapters {spec.Name}: step {done}/{steps} loss {value:0.000} lr {lr:0.0e0} eta {(int)eta.TotalMinutes:00}:{eta.Seconds:00}"));
                }
            }
        }
        finally
        {
            adapter.Detach();
            model.eval();
        }
        return curve;
    }

    /// <summary>
    /// The step's loss, (1 - w) * CE + w * KL(teacher || student) with w = <paramref name="distillation"/> (CE alone without a
    /// teacher), back-propagated into the adapter; returns its value.
    /// </summary>
    internal static double Backward(AfmDecoder model, Tensor inputs, Tensor targets, AfmDecoder? teacher, double distillation)
    {
        var logits = model.forward(inputs).to_type(ScalarType.Float32);
        var loss = MaskedLoss.Loss(logits, targets).Loss;
        if (teacher is not null)
            loss = loss.mul(1 - distillation).add(Distill(logits, inputs, targets, teacher).mul(distillation));
        loss.backward();
        return loss.item<float>();
    }

    /// <summary>Logits elements (fp32) one chunk of <see cref="BackwardByChunks"/> computes: 2^23, 32 MB.</summary>
    private const long LogitsPerChunk = 1L << 23;

    /// <summary>
    /// <see cref="Backward"/> for a batch whose logits exceed <see cref="Evaluator.LogitsPerBatch"/> (a 151,936-token vocabulary:
    /// 4 x 128 positions are 311 MB per tensor, and the loss holds several, its gradients as many again; issue #15). The final
    /// hidden states are computed once; the output projection, the loss and their backward pass run a chunk of positions at a
    /// time into the hidden states' gradient, which then goes back through the layers once. The same loss and gradient up to
    /// the order of the sums (a chunk's positions are summed, then the chunks).
    /// </summary>
    internal static double BackwardByChunks(AfmDecoder model, Tensor inputs, Tensor targets, AfmDecoder? teacher, double distillation,
        long logitsPerChunk = LogitsPerChunk)
    {
        var hidden = model.Hidden(inputs);
        long dim = hidden.shape[^1];
        using var leaf = hidden.detach().requires_grad_(true);
        var rows = leaf.reshape(-1, dim);
        var flatTargets = targets.reshape(-1);
        double counted = Math.Max(1, flatTargets.ne(MaskedLoss.IgnoreIndex).sum().item<long>());
        Tensor? teacherRows = null;
        if (teacher is not null)
            using (no_grad()) teacherRows = teacher.Hidden(inputs).reshape(-1, dim);
        long positions = rows.shape[0], chunk = Math.Max(1, logitsPerChunk / model.Architecture.VocabSize);
        double total = 0;
        for (long start = 0; start < positions; start += chunk)
        {
            using var scope = NewDisposeScope();
            long n = Math.Min(chunk, positions - start);
            var logits = nn.functional.linear(rows.narrow(0, start, n), model.OutputWeight).to_type(ScalarType.Float32);
            var chunkTargets = flatTargets.narrow(0, start, n);
            var loss = nn.functional.cross_entropy(logits, chunkTargets, ignore_index: MaskedLoss.IgnoreIndex, reduction: nn.Reduction.Sum) / counted;
            if (teacher is not null)
            {
                Tensor teacherLogProbs;
                using (no_grad())
                    teacherLogProbs = nn.functional.log_softmax(
                        nn.functional.linear(teacherRows!.narrow(0, start, n), teacher.OutputWeight).to_type(ScalarType.Float32), -1);
                var perToken = (teacherLogProbs.exp() * (teacherLogProbs - nn.functional.log_softmax(logits, -1))).sum(-1);
                var kl = (perToken * chunkTargets.ne(MaskedLoss.IgnoreIndex).to_type(ScalarType.Float32)).sum() / counted;
                loss = loss.mul(1 - distillation).add(kl.mul(distillation));
            }
            loss.backward();
            total += loss.item<float>();
        }
        teacherRows?.Dispose();
        // d(sum(hidden * g))/d(hidden) is g exactly: the chunks' gradient goes through the layers and the adapter once.
        hidden.mul(leaf.grad!).sum().backward();
        return total;
    }

    /// <summary>Mean over counted targets of KL(teacher || student) of the next-token distributions.</summary>
    private static Tensor Distill(Tensor studentLogits, Tensor inputs, Tensor targets, AfmDecoder teacher)
    {
        Tensor teacherLogProbs;
        using (no_grad())
        {
            // The teacher's logits are dropped as soon as their log-probabilities exist, not at the end of the step: at a
            // 151,936-token vocabulary a batch of 4 x 128 is 311 MB of them (issue #15). Same values.
            using var teacherLogits = teacher.forward(inputs);
            using var wide = teacherLogits.to_type(ScalarType.Float32);
            teacherLogProbs = nn.functional.log_softmax(wide, -1);
        }
        var studentLogProbs = nn.functional.log_softmax(studentLogits, -1);
        var perToken = (teacherLogProbs.exp() * (teacherLogProbs - studentLogProbs)).sum(-1);
        var counted = targets.ne(MaskedLoss.IgnoreIndex).to_type(ScalarType.Float32);
        return (perToken * counted).sum() / counted.sum().clamp_min(1);
    }

    internal static double Round(double value) => Math.Round(value, 6, MidpointRounding.ToEven);
}
