using System.Globalization;
using System.Text.Json;
using Afm.Training.Model;
using Afm.Training.Optimization;
using Afm.Training.Stages;
using static TorchSharp.torch;
using Afm.Core.IO;

namespace Afm.Training.Checkpoints;

/// <summary>Where a stage was when a mid-stage checkpoint was taken: enough to continue it bit for bit.</summary>
public sealed record ResumeState
{
    public required string Stage { get; init; }
    /// <summary>Optimizer steps completed.</summary>
    public required long Step { get; init; }
    /// <summary>The stage fingerprint; a checkpoint of a different stage spec, seed or data is never resumed.</summary>
    public required string Fingerprint { get; init; }
    /// <summary>The data order's seed and position: the sampler is a pure function of both.</summary>
    public required ulong DataSeed { get; init; }
    public required long SequencesConsumed { get; init; }
    /// <summary>torch's default CPU generator state (base64). Training draws nothing from it today; kept so a stage that does (dropout) stays exact.</summary>
    public required string TorchRngState { get; init; }
    public required IReadOnlyList<TrainPoint> TrainCurve { get; init; }
    public required IReadOnlyList<ValidationPoint> ValidationCurve { get; init; }
    /// <summary>sft stages with a pretraining mix: its held-out loss so far (step 0 is the incoming model, gone once resumed).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ValidationPoint>? MixValidationCurve { get; init; }
}

/// <summary>
/// Mid-stage checkpoints, <c>checkpointDirectory/&lt;stage&gt;.step-&lt;step:D9&gt;/</c>: <c>model.safetensors</c>,
/// <c>optimizer.safetensors</c> (every optimizer state tensor; metadata: step count) and <c>state.json</c>
/// (written last). Each is written to a hidden temporary folder and renamed into place; only then are older
/// checkpoints of the stage deleted, so at every instant at least one complete checkpoint exists.
/// All of a stage's mid-stage checkpoints are deleted once its end-of-stage checkpoint is in place.
/// </summary>
public static class ResumeCheckpoint
{
    private const string Infix = ".step-";

    public static void Save(string checkpointDirectory, ResumeState state, AfmDecoder model, StageOptimizerBase optimizer) =>
        Save(checkpointDirectory, state, model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), StageCheckpoint.WeightsMetadata(model), optimizer);

    /// <summary>As above for a model that is more than the decoder (a reward model: the decoder's weights plus its head's).</summary>
    public static void Save(string checkpointDirectory, ResumeState state, IEnumerable<(string Name, Tensor Tensor)> weights,
        IReadOnlyDictionary<string, string> metadata, StageOptimizerBase optimizer)
    {
        string name = $"{state.Stage}{Infix}{state.Step.ToString("D9", CultureInfo.InvariantCulture)}";
        string final = Path.Combine(checkpointDirectory, name);
        string temp = Path.Combine(checkpointDirectory, $".{name}.{Environment.ProcessId}.tmp");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        SafeTensors.Write(Path.Combine(temp, StageCheckpoint.WeightsFile), weights, metadata);
        SaveOptimizer(Path.Combine(temp, StageCheckpoint.OptimizerFile), optimizer);
        AtomicOutput.WriteAllText(Path.Combine(temp, StageCheckpoint.StateFile), JsonSerializer.Serialize(state, StageCheckpoint.Json));
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        foreach (var (step, dir) in List(checkpointDirectory, state.Stage))
            if (step != state.Step) Directory.Delete(dir, recursive: true);
    }

    /// <summary>The latest complete mid-stage checkpoint of <paramref name="stage"/> with this fingerprint, or null.</summary>
    public static (ResumeState State, string Directory)? TryLatest(string checkpointDirectory, string stage, string fingerprint)
    {
        foreach (var (_, dir) in List(checkpointDirectory, stage).OrderByDescending(c => c.Step))
        {
            string statePath = Path.Combine(dir, StageCheckpoint.StateFile);
            if (!File.Exists(statePath)) continue;
            try
            {
                var state = JsonSerializer.Deserialize<ResumeState>(File.ReadAllText(statePath), StageCheckpoint.Json);
                if (state is not null && state.Stage == stage && state.Fingerprint == fingerprint) return (state, dir);
            }
            catch (JsonException)
            {
                // A damaged state file: try an older checkpoint.
            }
        }
        return null;
    }

    public static void DeleteAll(string checkpointDirectory, string stage)
    {
        foreach (var (_, dir) in List(checkpointDirectory, stage)) Directory.Delete(dir, recursive: true);
    }

    public static void SaveOptimizer(string path, StageOptimizerBase optimizer) =>
        SafeTensors.Write(path, optimizer.StateTensors(), new Dictionary<string, string>
        {
            ["optimizer"] = optimizer.GetType().Name,
            ["step"] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture),
        });

    public static void LoadOptimizer(string path, StageOptimizerBase optimizer)
    {
        var (tensors, metadata) = SafeTensors.Read(path);
        try
        {
            if (metadata.GetValueOrDefault("optimizer") != optimizer.GetType().Name)
                throw new InvalidDataException($"{path} holds the state of {metadata.GetValueOrDefault("optimizer")}, not {optimizer.GetType().Name}.");
            optimizer.LoadState(tensors, long.Parse(metadata["step"], CultureInfo.InvariantCulture));
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static IEnumerable<(long Step, string Directory)> List(string checkpointDirectory, string stage)
    {
        if (!Directory.Exists(checkpointDirectory)) yield break;
        foreach (string dir in Directory.GetDirectories(checkpointDirectory, stage + Infix + "*"))
        {
            string suffix = Path.GetFileName(dir)[(stage.Length + Infix.Length)..];
            if (suffix.Length == 9 && long.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
                yield return (step, dir);
        }
    }
}
