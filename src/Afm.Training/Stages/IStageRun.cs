using Afm.Training.Checkpoints;
using Afm.Training.Optimization;
using static TorchSharp.torch;

namespace Afm.Training.Stages;

/// <summary>
/// One stage's optimizer loop as <see cref="Trainer"/> drives it: language-model stages (<see cref="StageTrainer"/>) and
/// preference stages (<see cref="PostTraining.PreferenceTrainer"/>) alike, so checkpoints and resume work the same for every kind.
/// </summary>
internal interface IStageRun
{
    StageReport Run(ulong dataSeed, (ResumeState State, string Directory)? resume, StageTrainer.CheckpointWriter? checkpoint, CancellationToken cancellationToken);
    StageOptimizerBase? Optimizer { get; }
    long SequencesConsumed { get; }
    /// <summary>The trained model's weights by name, as its checkpoints store them.</summary>
    IEnumerable<(string Name, Tensor Tensor)> Weights();
    IReadOnlyDictionary<string, string> WeightsMetadata();
}
