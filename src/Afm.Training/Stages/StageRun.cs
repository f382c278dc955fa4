using Afm.Training.Precision;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Checkpoints;
using Afm.Training.Distillation;
using Afm.Training.Model;
using Afm.Training.PostTraining;
using static TorchSharp.torch;

namespace Afm.Training.Stages;

/// <summary>
/// The loop that trains one stage, by its kind, and the models it owns for the stage's length: a reward stage trains a
/// copy of the incoming decoder with a reward head; a dpo stage trains the model against a frozen copy of the incoming
/// weights (its reference) and scores with a reward stage's model; other kinds train the model itself.
/// </summary>
internal sealed class StageRun : IDisposable
{
    private readonly List<IDisposable> owned = [];

    private StageRun() { }

    public IStageRun Run { get; private set; } = null!;

    /// <param name="model">Holds the incoming weights (for a preference stage even when it resumes); a resumed stage's
    /// checkpoint is loaded here, into the model the stage trains.</param>
    public static StageRun Create(ModelSpec spec, TrainingStageSpec stage, AfmDecoder model, IPackedSequences train, IPackedSequences validation,
        string checkpointDirectory, (ResumeState State, string Directory)? resume, Action<string>? progress, TeacherModel? teacher,
        PrecisionDecision precision, (string Name, string WeightsPath)? incoming = null, PretrainingMix? mix = null)
    {
        var result = new StageRun();
        string? resumeWeights = resume is var (_, directory) ? Path.Combine(directory, StageCheckpoint.WeightsFile) : null;
        try
        {
            switch (stage.Kind)
            {
                case StageKind.Reward:
                    var rewardModel = result.Own(new RewardModel(Copy(model), stage.Preference?.Readout ?? RewardReadout.Likelihood));
                    if (resumeWeights is not null) Trainer.LoadParameters(rewardModel.NamedParameters(), resumeWeights);
                    result.Run = PreferenceTrainer.ForReward(rewardModel, stage, Pairs(stage, train), Pairs(stage, validation), progress);
                    break;
                case StageKind.Dpo:
                    var reference = result.FrozenIncoming(model, resumeWeights);
                    var scorer = stage.Preference?.RewardModel is { } name ? result.Ranker(spec, checkpointDirectory, name) : null;
                    result.Run = PreferenceTrainer.ForDpo(model, reference, scorer, stage, Pairs(stage, train), Pairs(stage, validation), progress);
                    break;
                case StageKind.RejectionSampling:
                    var start = result.FrozenIncoming(model, resumeWeights);
                    var settings = stage.Preference!;
                    // Without a Committee, the model the stage starts from answers alone (best-of-Samples fine-tuning).
                    var committee = settings.Committee is { Count: > 0 } names
                        ? names.Select(n => (n, StageWeights(checkpointDirectory, n))).ToList()
                        : [incoming ?? throw new InvalidOperationException($"Stage '{stage.Name}' has no stage before it to sample from.")];
                    var ranker = result.Ranker(spec, checkpointDirectory, settings.RewardModel!);
                    result.Run = new RejectionSamplingRun(model, start, ranker, committee, stage, Pairs(stage, train), Pairs(stage, validation), progress);
                    break;
                case StageKind.Rl:
                    var rlReference = result.FrozenIncoming(model, resumeWeights);
                    var rewarder = result.Ranker(spec, checkpointDirectory, stage.Preference!.RewardModel!);
                    result.Run = new MdlooTrainer(model, rlReference, rewarder, stage, Pairs(stage, train), Pairs(stage, validation), progress);
                    break;
                default:
                    if (resumeWeights is not null) Trainer.LoadWeights(model, resumeWeights);
                    result.Run = new StageTrainer(model, stage, train, validation, progress) { Teacher = teacher, Precision = precision, Mix = mix };
                    break;
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A frozen copy of the weights the stage starts from (dpo's and rl's reference, rejection sampling's incoming model),
    /// taken before a resumed stage's checkpoint is loaded into <paramref name="model"/>, the model the stage trains.
    /// </summary>
    private AfmDecoder FrozenIncoming(AfmDecoder model, string? resumeWeights)
    {
        var incoming = Own(Copy(model));
        incoming.eval();
        if (resumeWeights is not null) Trainer.LoadWeights(model, resumeWeights);
        return incoming;
    }

    /// <summary>The reward model an earlier reward stage of this project trained.</summary>
    private RewardModel Ranker(ModelSpec spec, string checkpointDirectory, string rewardStage) =>
        Own(RewardModel.Load(spec.Architecture, StageWeights(checkpointDirectory, rewardStage)));

    private static string StageWeights(string checkpointDirectory, string stage) =>
        Path.Combine(StageCheckpoint.StageDirectory(checkpointDirectory, stage), StageCheckpoint.WeightsFile);

    private T Own<T>(T disposable) where T : IDisposable
    {
        owned.Add(disposable);
        return disposable;
    }

    private static PreferencePairs Pairs(TrainingStageSpec stage, IPackedSequences sequences) => sequences as PreferencePairs
        ?? throw new InvalidOperationException($"Stage '{stage.Name}' is a {StageKinds.Name(stage.Kind)} stage, but its data are not preference pairs (rebuild the data stage).");

    /// <summary>A new decoder with <paramref name="model"/>'s architecture, weights and RoPE base.</summary>
    private static AfmDecoder Copy(AfmDecoder model)
    {
        var copy = new AfmDecoder(model.Architecture) { RopeBase = model.RopeBase };
        using var noGrad = no_grad();
        foreach (var ((_, target), (_, source)) in copy.named_parameters().Zip(model.named_parameters()))
            target.copy_(source);
        return copy;
    }

    public void Dispose()
    {
        foreach (var d in owned) d.Dispose();
        owned.Clear();
    }
}
