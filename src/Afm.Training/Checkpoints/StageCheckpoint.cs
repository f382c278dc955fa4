using System.Text.Json;
using Afm.Training.Model;
using Afm.Training.Stages;
using Afm.Training.Optimization;
using Afm.Core.IO;

namespace Afm.Training.Checkpoints;

/// <summary>Small JSON record of where a stage ended; its fingerprint decides whether the stage can be skipped.</summary>
public sealed record StageState
{
    public required string Stage { get; init; }
    public required long Step { get; init; }
    public required long Seed { get; init; }
    public required int Threads { get; init; }
    /// <summary>Seed of the stage's data permutation and how many sequences it handed out.</summary>
    public required ulong DataSeed { get; init; }
    public required long SequencesConsumed { get; init; }
    /// <summary>Hash of everything the stage's result depends on, chained through the previous stage.</summary>
    public required string Fingerprint { get; init; }
}

/// <summary>
/// The end-of-stage checkpoint, <c>checkpointDirectory/&lt;stage&gt;/</c>:
/// <c>model.safetensors</c> (weights), <c>optimizer.safetensors</c> (the optimizer's state tensors), <c>report.json</c>
/// (the stage's deterministic report, so a skipped stage still reports) and <c>state.json</c>.
/// All files are written into a temporary sibling folder that is renamed into place, so a killed process
/// leaves either the old checkpoint or the new one, never a mix.
/// </summary>
public static class StageCheckpoint
{
    public const string WeightsFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string ReportFile = "report.json";
    public const string StateFile = "state.json";

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string StageDirectory(string checkpointDirectory, string stage) => Path.Combine(checkpointDirectory, stage);

    public static void Save(string checkpointDirectory, StageState state, AfmDecoder model, StageOptimizerBase optimizer, StageReport report) =>
        Save(checkpointDirectory, state, model.named_parameters().Select(p => (p.name, (TorchSharp.torch.Tensor)p.parameter)), WeightsMetadata(model), optimizer, report);

    /// <summary>As above for a model that is more than the decoder (a reward model: the decoder's weights plus its head's).</summary>
    public static void Save(string checkpointDirectory, StageState state, IEnumerable<(string Name, TorchSharp.torch.Tensor Tensor)> weights,
        IReadOnlyDictionary<string, string> metadata, StageOptimizerBase optimizer, StageReport report)
    {
        string final = StageDirectory(checkpointDirectory, state.Stage);
        // Leftovers of a killed run of this stage are never complete checkpoints: drop them.
        foreach (string stale in Directory.GetDirectories(checkpointDirectory, $".{state.Stage}.*.tmp"))
            Directory.Delete(stale, recursive: true);
        string temp = Path.Combine(checkpointDirectory, $".{state.Stage}.{Environment.ProcessId}.tmp");
        Directory.CreateDirectory(temp);

        SafeTensors.Write(Path.Combine(temp, WeightsFile), weights, metadata);
        ResumeCheckpoint.SaveOptimizer(Path.Combine(temp, OptimizerFile), optimizer);
        AtomicOutput.WriteAllText(Path.Combine(temp, ReportFile), JsonSerializer.Serialize(report, Json));
        // state.json last: its presence marks a complete checkpoint.
        AtomicOutput.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, Json));

        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        ResumeCheckpoint.DeleteAll(checkpointDirectory, state.Stage);
    }

    /// <summary>The stage's report if a complete checkpoint with this fingerprint exists, else null.</summary>
    public static StageReport? TryFind(string checkpointDirectory, string stage, string fingerprint)
    {
        string dir = StageDirectory(checkpointDirectory, stage);
        string statePath = Path.Combine(dir, StateFile);
        if (!File.Exists(statePath) || !File.Exists(Path.Combine(dir, WeightsFile)) || !File.Exists(Path.Combine(dir, ReportFile))) return null;
        try
        {
            var state = JsonSerializer.Deserialize<StageState>(File.ReadAllText(statePath), Json);
            if (state is null || state.Fingerprint != fingerprint) return null;
            return JsonSerializer.Deserialize<StageReport>(File.ReadAllText(Path.Combine(dir, ReportFile)), Json);
        }
        catch (JsonException)
        {
            return null; // unreadable: train the stage again
        }
    }

    /// <summary>Architecture facts an exporter needs that are not in the tensor names.</summary>
    internal static Dictionary<string, string> WeightsMetadata(AfmDecoder model) =>
        DecoderWeightsMetadata.For(model.Architecture, model.RopeBase);
}
