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
        PrecisionDecision precision, (string Name, string WeightsPath)? incoming = null)
    {
        var result = new StageRun();
        string? resumeWeights = resume is var (_, directory) ? Path.Combine(directory, StageCheckpoint.WeightsFile) : null;
        try
        {
            switch (stage.Kind)
            {
                case StageKind.Reward:
                    var rewardModel = result.Own(new RewardModel(Copy(model)));
                    if (resumeWeights is not null) Trainer.LoadParameters(rewardModel.NamedParameters(), resumeWeights);
                    result.Run = PreferenceTrainer.ForReward(rewardModel, stage, Pairs(stage, train), Pairs(stage, validation), progress);
                    break;
                case StageKind.Dpo:
                    var reference = result.Own(Copy(model));
                    reference.eval();
                    if (resumeWeights is not null) Trainer.LoadWeights(model, resumeWeights);
                    var scorer = stage.Preference?.RewardModel is { } name ? result.Own(RewardModel.Load(spec.Architecture, StageWeights(checkpointDirectory, name))) : null;
                    result.Run = PreferenceTrainer.ForDpo(model, reference, scorer, stage, Pairs(stage, train), Pairs(stage, validation), progress);
                    break;
                case StageKind.RejectionSampling:
                    var start = result.Own(Copy(model));
                    start.eval();
                    if (resumeWeights is not null) Trainer.LoadWeights(model, resumeWeights);
                    var settings = stage.Preference!;
                    // Without a Committee, the model the stage starts from answers alone (best-of-Samples fine-tuning).
                    var committee = settings.Committee is { Count: > 0 } names
                        ? names.Select(n => (n, StageWeights(checkpointDirectory, n))).ToList()
                        : [incoming ?? throw new InvalidOperationException($"Stage '{stage.Name}' has no stage before it to sample from.")];
                    var ranker = result.Own(RewardModel.Load(spec.Architecture, StageWeights(checkpointDirectory, settings.RewardModel!)));
                    result.Run = new RejectionSamplingRun(model, start, ranker, committee, stage, Pairs(stage, train), Pairs(stage, validation), progress);
                    break;
                case StageKind.Rl:
                    var rlReference = result.Own(Copy(model));
                    rlReference.eval();
                    if (resumeWeights is not null) Trainer.LoadWeights(model, resumeWeights);
                    var rewarder = result.Own(RewardModel.Load(spec.Architecture, StageWeights(checkpointDirectory, stage.Preference!.RewardModel!)));
                    result.Run = new MdlooTrainer(model, rlReference, rewarder, stage, Pairs(stage, train), Pairs(stage, validation), progress);
                    break;
                default:
                    if (resumeWeights is not null) Trainer.LoadWeights(model, resumeWeights);
                    result.Run = new StageTrainer(model, stage, train, validation, progress) { Teacher = teacher, Precision = precision };
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
