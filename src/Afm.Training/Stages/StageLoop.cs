using System.Diagnostics;
using Afm.Core.Spec;
using Afm.Training.Checkpoints;
using Afm.Training.Optimization;
using static TorchSharp.torch;

namespace Afm.Training.Stages;

/// <summary>
/// The bookkeeping every stage's optimizer loop shares (<see cref="StageTrainer"/>, <see cref="PostTraining.PreferenceTrainer"/>):
/// where a resumed stage continues, a train-curve point about every 1/200 of the stage, validation every EvalEvery
/// steps and at the end, a resumable checkpoint every CheckpointEvery steps (not after the last), progress lines at most
/// every 2 s. Keeping it in one place keeps every kind's checkpoints and curves the same, so resume is exact for each.
/// </summary>
internal sealed class StageLoop
{
    /// <summary>The report keeps about this many training points per stage.</summary>
    private const int CurvePoints = 200;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    private readonly TrainingStageSpec stage;
    private readonly long tokensPerStep;
    private readonly Action<string>? progress;
    private readonly long curveEvery;
    private readonly Stopwatch clock = new();
    private TimeSpan lastProgress;

    public StageLoop(TrainingStageSpec stage, long tokensPerStep, Action<string>? progress)
    {
        this.stage = stage;
        this.tokensPerStep = tokensPerStep;
        this.progress = progress;
        curveEvery = Math.Max(1, stage.Steps / CurvePoints);
    }

    public List<TrainPoint> TrainCurve { get; } = [];
    public List<ValidationPoint> ValidationCurve { get; } = [];
    /// <summary>An sft stage's pretraining mix: its held-out loss, measured when the validation curve is.</summary>
    public Func<double>? MixValidationLoss { get; init; }
    public List<ValidationPoint> MixValidationCurve { get; } = [];
    /// <summary>The first step this run takes: 0, or the step a resumed checkpoint was taken at.</summary>
    public long FirstStep { get; private set; }

    /// <summary>
    /// Restores a mid-stage checkpoint's optimizer state, data position, torch RNG and curves (its weights are loaded by
    /// the caller); without one, records step 0 of the validation curve: the incoming weights on this stage's data.
    /// </summary>
    public void Start((ResumeState State, string Directory)? resume, StageOptimizerBase optimizer, SequenceSampler sampler, Func<double>? validationLoss)
    {
        if (resume is var (state, directory))
        {
            ResumeCheckpoint.LoadOptimizer(Path.Combine(directory, StageCheckpoint.OptimizerFile), optimizer);
            sampler.Seek(state.SequencesConsumed);
            set_rng_state(tensor(Convert.FromBase64String(state.TorchRngState)));
            TrainCurve.AddRange(state.TrainCurve);
            ValidationCurve.AddRange(state.ValidationCurve);
            MixValidationCurve.AddRange(state.MixValidationCurve ?? []);
            FirstStep = state.Step;
        }
        if (FirstStep == 0 && validationLoss is not null) ValidationCurve.Add(new ValidationPoint(0, StageTrainer.Round(validationLoss())));
        if (FirstStep == 0 && MixValidationLoss is not null) MixValidationCurve.Add(new ValidationPoint(0, StageTrainer.Round(MixValidationLoss())));
        clock.Restart();
        lastProgress = TimeSpan.Zero;
    }

    /// <summary>After optimizer step <paramref name="done"/> (1-based): curves, checkpoint and progress as the class says.</summary>
    public void Finished(long done, double loss, double lr, Func<double>? validationLoss, SequenceSampler sampler, StageTrainer.CheckpointWriter? checkpoint)
    {
        long steps = stage.Steps;
        if (done % curveEvery == 0 || done == steps)
            TrainCurve.Add(new TrainPoint(done, done * tokensPerStep, StageTrainer.Round(lr), StageTrainer.Round(loss)));
        if (validationLoss is not null && (done % stage.EvalEvery == 0 || done == steps))
            ValidationCurve.Add(new ValidationPoint(done, StageTrainer.Round(validationLoss())));
        if (MixValidationLoss is not null && (done % stage.EvalEvery == 0 || done == steps))
            MixValidationCurve.Add(new ValidationPoint(done, StageTrainer.Round(MixValidationLoss())));
        if (checkpoint is not null && stage.CheckpointEvery > 0 && done % stage.CheckpointEvery == 0 && done < steps)
            checkpoint(done, sampler.Consumed, TrainCurve, ValidationCurve, MixValidationLoss is null ? null : MixValidationCurve);
        if (progress is not null && (clock.Elapsed - lastProgress >= ProgressInterval || done == steps))
        {
            lastProgress = clock.Elapsed;
            progress(StageTrainer.ProgressLine(stage.Name, done - FirstStep, done, steps, loss, lr, (done - FirstStep) * tokensPerStep, clock.Elapsed));
        }
    }

    /// <summary>The stage's report from the curves (the last validation point is the final validation loss).</summary>
    public StageReport Report(bool perplexity, PreferenceReport? preference = null)
    {
        double? finalLoss = ValidationCurve.Count > 0 ? ValidationCurve[^1].Loss : null;
        return new StageReport
        {
            Name = stage.Name,
            Steps = stage.Steps,
            Tokens = stage.Steps * tokensPerStep,
            SequenceLength = stage.SequenceLength,
            BatchSize = stage.BatchSize,
            RopeBase = stage.RopeBase,
            TrainCurve = TrainCurve,
            ValidationCurve = ValidationCurve,
            FinalValidationLoss = finalLoss,
            FinalValidationPerplexity = perplexity && finalLoss is double l ? StageTrainer.Round(Math.Exp(l)) : null,
            Preference = preference,
        };
    }
}
