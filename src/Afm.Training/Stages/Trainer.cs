using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Checkpoints;
using Afm.Training.Distillation;
using Afm.Training.Model;
using Afm.Training.PostTraining;
using Afm.Training.Precision;
using static TorchSharp.torch;

namespace Afm.Training.Stages;

/// <summary>
/// Trains a model through its stages (core -> continued -> context ...). Each stage starts from the previous
/// stage's final weights with a fresh optimizer, and ends with a checkpoint under
/// <c>checkpointDirectory/&lt;stage&gt;/</c>. A stage whose checkpoint matches (same architecture, stage spec,
/// seed, threads, data sizes and previous stage) is not trained again.
/// </summary>
public static class Trainer
{
    /// <summary>Bump when training math changes so old checkpoints are not mistaken for current ones.</summary>
    private const string FormatVersion = "afm-train-2";

    /// <param name="openData">(stage name, <see cref="DataSplit"/> name) -> that stage's packed sequences.</param>
    /// <param name="progress">Receives human-readable lines at most every ~2 s, plus stage start/end lines.</param>
    /// <param name="cancellationToken">Checked every step; a cancelled stage writes no checkpoint (earlier ones stay).</param>
    /// <param name="teacher">The built teacher of a spec with a Teacher: every stage distills from it (specs/afmproj.md).</param>
    /// <param name="initialWeights">The weights the first stage starts from instead of a random init (a BaseModel's,
    /// converted to the decoder's names); null: the seeded init.</param>
    public static TrainingReport Train(ModelSpec spec, Func<string, string, IPackedSequences> openData,
        string checkpointDirectory, Action<string>? progress = null, CancellationToken cancellationToken = default,
        TeacherSource? teacher = null, string? initialWeights = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.TrainingStages.Count == 0) throw new ArgumentException("The model has no training stages.", nameof(spec));
        checkpointDirectory = Path.GetFullPath(checkpointDirectory);
        Directory.CreateDirectory(checkpointDirectory);

        TorchRuntime.UseThreads(spec.Threads, spec.Determinism);
        manual_seed(spec.Seed);
        using var model = new AfmDecoder(spec.Architecture, spec.Seed);
        using var teacherModel = teacher is null ? null : Distiller.Open(spec, teacher);

        var reports = new List<StageReport>();
        var timings = new List<StageTiming>();
        string previousFingerprint = "";
        // The model holds the weights the next stage starts from: the fresh init for stage 0, or, when a stage was
        // skipped or the project starts from a BaseModel, they are loaded from disk first when a stage needs them.
        bool modelHoldsPreviousStage = initialWeights is null;
        // The last stage whose result later stages continue (every kind but reward): null before the first.
        string? lastModelStage = null;
        string IncomingWeights() => lastModelStage is null ? initialWeights!
            : Path.Combine(StageCheckpoint.StageDirectory(checkpointDirectory, lastModelStage), StageCheckpoint.WeightsFile);
        for (int index = 0; index < spec.TrainingStages.Count; index++)
        {
            var stage = spec.TrainingStages[index];
            var train = openData(stage.Name, DataSplit.Train);
            var validation = openData(stage.Name, DataSplit.Validation);
            var mix = PretrainingMix.Of(stage, openData);
            ulong dataSeed = DataSeed(spec.Seed, index);
            var precision = PrecisionChoice.Resolve(stage.Precision, spec.Determinism,
                PrecisionChoice.Shape(spec.Architecture, stage.BatchSize, stage.SequenceLength), $"train {stage.Name}", progress);
            string fingerprint = Fingerprint(spec, stage, index, previousFingerprint, train, validation, teacherModel?.FingerprintFacts, precision, mix);
            // Every report says what ran, fresh or reused: a checkpoint written before Precision existed has no precision in
            // its report (its fingerprint says fp32), and reward and dpo stages always train in float32.
            StageReport SaysWhatRan(StageReport report) =>
                report with { Precision = report.Precision ?? precision.Ran, PrecisionReason = report.PrecisionReason ?? precision.Reason };
            string stageDir = StageCheckpoint.StageDirectory(checkpointDirectory, stage.Name);

            var existing = StageCheckpoint.TryFind(checkpointDirectory, stage.Name, fingerprint);
            if (existing is not null)
            {
                progress?.Invoke($"train {stage.Name}: up to date ({stageDir}), skipped");
                reports.Add(SaysWhatRan(existing));
                timings.Add(new StageTiming(stage.Name, 0, 0, Skipped: true));
                if (stage.Kind != StageKind.Reward)
                {
                    modelHoldsPreviousStage = false; // the weights are on disk; load them only if a later stage trains
                    lastModelStage = stage.Name;
                }
            }
            else
            {
                var resume = ResumeCheckpoint.TryLatest(checkpointDirectory, stage.Name, fingerprint);
                // Preference stages copy the incoming weights (a reward model starts from them, dpo keeps them as its
                // reference) even when they resume; other stages need them only when they start from step 0.
                if (stage.IsPreference || resume is null)
                {
                    if (!modelHoldsPreviousStage) LoadWeights(model, IncomingWeights());
                    else if (index == 0 && resume is null && teacherModel?.Source.Spec.Init == TeacherInit.PruneFfn)
                        Distiller.InitializeByPruning(teacherModel, model, train, progress);
                    modelHoldsPreviousStage = true;
                }
                using var stageRun = StageRun.Create(spec, stage, model, train, validation, checkpointDirectory, resume, progress, teacherModel, precision,
                    (lastModelStage ?? "base", IncomingWeights()), mix);
                var run = stageRun.Run;
                if (resume is var (resumeState, resumeDirectory))
                    progress?.Invoke($"train {stage.Name}: resuming at step {resumeState.Step}/{stage.Steps} from {resumeDirectory}");
                progress?.Invoke($"train {stage.Name}: {stage.Steps} steps x {stage.BatchSize} x {stage.SequenceLength} tokens, " +
                    $"lr {stage.LearningRate:0.0e0} ({stage.Schedule}), rope base {stage.RopeBase:0}, {model.ParameterCount:N0} parameters" +
                    (stage.IsPreference ? $", {StageKinds.Name(stage.Kind)} on preference data" : "") +
                    (!stage.IsPreference && teacherModel is { Weight: > 0 } t ? ", " + t.TargetDescription : "") +
                    (mix is null ? "" : $", {mix.SequencesPerBatch} of each batch's sequences from the pretraining mix ({string.Join(";", mix.Corpora.Select(c => $"{c.Corpus}={c.Weight:0.###}"))})"));
                var clock = Stopwatch.StartNew();
                var report = SaysWhatRan(run.Run(dataSeed, resume, (step, consumed, trainCurve, validationCurve, mixValidationCurve) =>
                {
                    using var rng = get_rng_state();
                    ResumeCheckpoint.Save(checkpointDirectory, new ResumeState
                    {
                        Stage = stage.Name, Step = step, Fingerprint = fingerprint, DataSeed = dataSeed, SequencesConsumed = consumed,
                        TorchRngState = Convert.ToBase64String(rng.data<byte>().ToArray()),
                        TrainCurve = trainCurve.ToList(), ValidationCurve = validationCurve.ToList(), MixValidationCurve = mixValidationCurve?.ToList(),
                    }, run.Weights(), run.WeightsMetadata(), run.Optimizer!);
                    progress?.Invoke($"train {stage.Name}: checkpoint at step {step}/{stage.Steps}");
                }, cancellationToken));
                double seconds = clock.Elapsed.TotalSeconds;
                var state = new StageState
                {
                    Stage = stage.Name, Step = stage.Steps, Seed = spec.Seed, Threads = spec.Threads,
                    DataSeed = dataSeed, SequencesConsumed = run.SequencesConsumed, Fingerprint = fingerprint,
                };
                StageCheckpoint.Save(checkpointDirectory, state, run.Weights(), run.WeightsMetadata(), run.Optimizer!, report);
                run.Optimizer!.Dispose();
                reports.Add(report);
                timings.Add(new StageTiming(stage.Name, Math.Round(seconds, 3), Math.Round(report.Tokens / Math.Max(1e-9, seconds), 1), Skipped: false));
                // A reward stage trained a copy: the model still holds what the stage before it left.
                if (stage.Kind != StageKind.Reward) lastModelStage = stage.Name;
                modelHoldsPreviousStage = true;
                progress?.Invoke($"train {stage.Name}: done in {seconds:0.0}s, " + (report.Preference is { } p
                    ? $"held-out preference accuracy {p.Accuracy:P1} over {p.HeldOutPairs} pairs, mean margin {p.MeanMargin:0.000}"
                    : "validation loss " + (report.FinalValidationLoss is double l ? $"{l:0.000} (perplexity {report.FinalValidationPerplexity:0.00})" : "n/a")));
            }
            previousFingerprint = fingerprint;
        }

        return new TrainingReport
        {
            ParameterCount = model.ParameterCount,
            FinalWeightsPath = IncomingWeights(),
            Stages = reports,
            Timings = new TrainingTimings { Stages = timings },
        };
    }

    /// <summary>Builds a decoder for <paramref name="architecture"/> and loads weights saved by training (eval mode).</summary>
    public static AfmDecoder LoadModel(ArchitectureSpec architecture, string weightsPath)
    {
        TorchRuntime.PrepareProcess();
        var model = new AfmDecoder(architecture);
        try
        {
            LoadWeights(model, weightsPath);
            if (SafeTensors.ReadMetadata(weightsPath).TryGetValue("rope_base", out var ropeBase))
                model.RopeBase = double.Parse(ropeBase, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    /// <summary>
    /// Copies every parameter from a safetensors file; names and shapes must match exactly. Each tensor is read from the
    /// file straight into its parameter's memory (fp32; bf16/fp16 files are widened), so loading holds one copy of the model.
    /// </summary>
    internal static void LoadWeights(AfmDecoder model, string weightsPath) =>
        LoadParameters(model.named_parameters().Select(p => (p.name, p.parameter)).ToList(), weightsPath);

    /// <summary>As <see cref="LoadWeights"/> for any named parameters (a reward model: the decoder's and its head's).</summary>
    internal static void LoadParameters(IReadOnlyList<(string name, TorchSharp.Modules.Parameter parameter)> expected, string weightsPath)
    {
        using var reader = SafeTensorsReader.Open(weightsPath);
        var tensors = reader.Header.Tensors;
        var missing = expected.Select(p => p.name).Where(n => !tensors.ContainsKey(n)).ToList();
        var unexpected = tensors.Keys.Except(expected.Select(p => p.name)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new InvalidDataException($"{weightsPath} does not match the architecture: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}].");
        using var noGrad = no_grad();
        foreach (var (name, parameter) in expected)
        {
            var source = tensors[name];
            if (!source.Shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException($"{weightsPath}: '{name}' has shape [{string.Join(",", source.Shape)}], the model needs [{string.Join(",", parameter.shape)}].");
            if (parameter.dtype != ScalarType.Float32 || !parameter.is_contiguous())
                throw new InvalidOperationException($"'{name}' is not a contiguous fp32 parameter.");
            // A CPU tensor's bytes span is its own storage: the reader writes the values in place.
            reader.ReadFloat32(name, 0, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(parameter.bytes));
        }
    }

    /// <summary>Seed of stage <paramref name="index"/>'s data order: independent of torch's generator state.</summary>
    internal static ulong DataSeed(long seed, int index)
    {
        ulong state = unchecked((ulong)seed * 31 + (ulong)index);
        return SequenceSampler.SplitMix64(ref state);
    }

    private static string Fingerprint(ModelSpec spec, TrainingStageSpec stage, int index, string previous,
        IPackedSequences train, IPackedSequences validation, object? teacher, PrecisionDecision precision, PretrainingMix? mix)
    {
        var facts = new
        {
            FormatVersion, spec.Seed, spec.Threads, spec.Architecture,
            // The kernels differ between the modes, and so do the weights: a checkpoint of the other mode is never reused.
            spec.Determinism,
            // How often checkpoints are taken does not change the result.
            Stage = stage with { Location = null, CheckpointEvery = 0 }, index, previous,
            Train = new { train.Count, train.SequenceLength, train.VocabSize },
            Validation = new { validation.Count, validation.SequenceLength, validation.VocabSize },
            Teacher = teacher,
            // The base's content (its files' hashes), not where it lies: a changed checkpoint trains again, a moved one does not.
            Base = spec.BaseModel is { } b ? new { b.Format, b.Architecture, b.Files } : null,
        };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(facts);
        // Preference pairs: their content too (a changed pair with the same counts trains again). Appended rather than
        // added to the facts, so the fingerprints of language-model stages stay what they were.
        if (train is PreferencePairs trainPairs && validation is PreferencePairs validationPairs)
            json = [.. json, .. Encoding.UTF8.GetBytes(trainPairs.ContentHash() + validationPairs.ContentHash())];
        // What ran, when the stage declared anything but fp32 (fp32 stages keep the fingerprints they had): a checkpoint of
        // the other precision (auto resolving otherwise on another CPU) is never resumed or reused.
        // An sft stage's pretraining mix: its packed counts (the mix's spec is in the stage's); appended, so stages without one
        // keep their fingerprints.
        if (mix is not null)
            json = [.. json, .. JsonSerializer.SerializeToUtf8Bytes(new { MixTrain = new { mix.Train.Count, mix.Train.SequenceLength, mix.Train.VocabSize },
                MixValidation = mix.Validation?.Count ?? 0 })];
        if (stage.Precision != TrainingPrecision.Fp32) json = [.. json, .. Encoding.UTF8.GetBytes("|ran:" + precision.Ran)];
        return Convert.ToHexStringLower(SHA256.HashData(json));
    }
}
