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
                var logits = model.forward(inputs).to_type(ScalarType.Float32);
                var loss = MaskedLoss.Loss(logits, targets).Loss;
                if (spec.Distillation > 0)
                    loss = loss.mul(1 - spec.Distillation).add(Distill(logits, inputs, targets, teacher!).mul(spec.Distillation));
                loss.backward();
                nn.utils.clip_grad_norm_(clipped, GradientClip);
                optimizer.Step(lr, spec.LearningRate);

                long done = step + 1;
                double value = loss.item<float>();
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
