using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Afm.Core.Artifacts;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Data.Corpora;
using Afm.Data.Packing;
using Afm.Training.Checkpoints;
using Afm.Training.Model;
using Afm.Training.Precision;
using static TorchSharp.torch;

namespace Afm.Training.Adapters;

/// <param name="FloatWeightsPath">The trained float weights (train/model.safetensors).</param>
/// <param name="BaseWeightsPath">The file the adapters are trained against (quantize/model.safetensors with a plan, else the float weights): its SHA-256 goes into every adapter.</param>
/// <param name="DequantizeBase">Reads the quantized weights dequantized to float32 by name, or null when the base is the float
/// model. Called once, when the base is built: the arrays are garbage as soon as they are in the decoder (issue #15: held for
/// the whole stage they were one more fp32 copy of the model, 0.6 GB of the embedding alone for Qwen3-0.6B's vocabulary).</param>
internal sealed record AdaptersStageInputs(ModelSpec Spec, string FloatWeightsPath, string BaseWeightsPath,
    Func<IReadOnlyDictionary<string, (long[] Shape, float[] Values)>>? DequantizeBase, string DataDirectory, string TokenizerDirectory, string OutputDirectory);

/// <summary>
/// The adapters stage: trains every adapter of the spec in order (recovery adapters first, so InitFrom sources exist) on
/// the frozen base exactly as the artifact holds it, measures it, and writes <c>&lt;out&gt;/&lt;name&gt;/adapter.safetensors</c>
/// and <c>result.json</c> (each adapter folder replaced atomically). An adapter whose fingerprint (its settings, the
/// base's hash, its data, the adapter it starts from) is unchanged is not trained again, so editing one adapter retrains
/// only it and the feature adapters that start from it. Feature data is packed under <c>&lt;out&gt;/work/&lt;name&gt;/</c>.
/// </summary>
public static class AdaptersStage
{
    public const string ResultFile = StageLayout.Adapters.Adapter.Result;
    /// <summary>The sft stage name feature data is packed under (in work/&lt;adapter&gt;/); diagnostics of its lines name it.</summary>
    public const string FeatureDataStage = "feature-data";
    /// <summary>The folder under the stage's own where feature data is packed (<c>work/&lt;adapter&gt;/</c>): not an adapter.</summary>
    private const string WorkFolder = "work";
    // 3: recovery results carry the objective, KL to float and the bootstrap measurement (RecoveryMeasurement).
    // 4: with Control="true" they also carry the per-layer KL (LayerDivergences).
    private const string FormatVersion = "afm-adapters-4";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// The stage's entry (<c>afm adapters</c>, target AfmAdapters): trains every Adapter item on the base exactly as the
    /// artifact holds it (the quantized weights dequantized when the project has a QuantizationPlan, else the float
    /// weights), then writes <c>report.md</c> and, last, <c>report.json</c>, the target's declared output. Without
    /// Adapter items the folder is removed, so nothing an earlier build left is packaged.
    /// </summary>
    /// <param name="quantizeDirectory">The quantize stage's folder; null or empty without a QuantizationPlan.</param>
    /// <param name="dequantize">Reads quantized weights back to float32 by name: Afm.Compression's
    /// <c>QuantizedWeightsFile.Dequantize</c>, which this library cannot reference (Afm.Compression references it).</param>
    public static void Run(ModelSpec spec, string tokenizerDirectory, string dataDirectory, string trainDirectory, string? quantizeDirectory,
        string outputDirectory, Func<string, IReadOnlyDictionary<string, (long[] Shape, float[] Values)>> dequantize, Action<string> progress)
    {
        if (spec.Adapters.Count == 0)
        {
            if (Directory.Exists(outputDirectory)) Directory.Delete(outputDirectory, recursive: true);
            progress("adapters: the project has no Adapter items; nothing to do");
            return;
        }
        string floatWeights = Path.Combine(trainDirectory, StageLayout.Train.Weights);
        string? quantized = spec.Quantization is not null && quantizeDirectory is { Length: > 0 } q ? Path.Combine(q, StageLayout.Quantize.Weights) : null;
        if (spec.Quantization is not null && (quantized is null || !File.Exists(quantized)))
            throw new InvalidOperationException("The project has a QuantizationPlan but the quantized weights are missing; the adapters stage runs after quantize.");
        // The base exactly as exported: palettized weights decoded back to float32, never the float model.
        Func<IReadOnlyDictionary<string, (long[] Shape, float[] Values)>>? dequantized = quantized is null ? null : () => dequantize(quantized);
        Directory.CreateDirectory(outputDirectory);
        File.Delete(Path.Combine(outputDirectory, StageLayout.Adapters.Report)); // the declared output goes first, so a failed run is never up to date
        var report = Train(new AdaptersStageInputs(spec, floatWeights, quantized ?? floatWeights, dequantized, dataDirectory,
            tokenizerDirectory, outputDirectory), progress);
        AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Adapters.ReportMarkdown), AdaptersReportMarkdown.Render($"{spec.Name} {spec.Version}", report));
        AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Adapters.Report), SpecJson.Serialize(report));
        progress($"adapters: {report.Adapters.Count} adapters on the {report.Base} base");
    }

    private static AdaptersReport Train(AdaptersStageInputs inputs, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var spec = inputs.Spec;
        TorchRuntime.UseThreads(spec.Threads, spec.Determinism);
        Directory.CreateDirectory(inputs.OutputDirectory);
        string baseSha = AdapterFile.Sha256(inputs.BaseWeightsPath);
        string floatSha = inputs.DequantizeBase is null ? baseSha : AdapterFile.Sha256(inputs.FloatWeightsPath);
        double ropeBase = double.Parse(SafeTensors.ReadMetadata(inputs.FloatWeightsPath).GetValueOrDefault("rope_base")
            ?? spec.CalibrationStage!.RopeBase.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        using var models = new LazyModels(inputs, ropeBase);
        var baseLosses = new Dictionary<string, double>(StringComparer.Ordinal);
        var sequenceLosses = new Dictionary<string, SequenceLosses>(StringComparer.Ordinal);
        var results = new Dictionary<string, AdapterResult>(StringComparer.Ordinal);
        foreach (var adapterSpec in spec.Adapters)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var data = OpenData(inputs, adapterSpec, progress);
            var precision = PrecisionChoice.Resolve(adapterSpec.Precision, spec.Determinism,
                PrecisionChoice.Shape(spec.Architecture, adapterSpec.BatchSize, adapterSpec.SequenceLength), $"adapters {adapterSpec.Name}", progress);
            string fingerprint = Fingerprint(spec, adapterSpec, baseSha, floatSha, data.Describe,
                adapterSpec.InitFrom is { } init ? results[init].Fingerprint : null, precision);
            string directory = Path.Combine(inputs.OutputDirectory, adapterSpec.Name);
            if (TryReuse(directory, fingerprint) is { } reused)
            {
                progress?.Invoke($"adapters {adapterSpec.Name}: up to date, skipped");
                // Results written before Precision existed are of fp32 adapters (the fingerprint says so): say it as a fresh build would.
                results[adapterSpec.Name] = reused with { Precision = reused.Precision ?? precision.Ran, PrecisionReason = reused.PrecisionReason ?? precision.Reason };
                continue;
            }
            results[adapterSpec.Name] = TrainOne(inputs, adapterSpec, data, models, baseLosses, sequenceLosses, baseSha, fingerprint, precision, directory, progress, cancellationToken);
        }
        // Folders of adapters the project no longer declares would otherwise be packaged.
        foreach (string stale in Directory.GetDirectories(inputs.OutputDirectory))
            if (Path.GetFileName(stale) is var name && name != WorkFolder && !results.ContainsKey(name)) Directory.Delete(stale, recursive: true);
        return new AdaptersReport
        {
            Base = inputs.DequantizeBase is null ? "float" : "quantized",
            BaseSha256 = baseSha,
            Adapters = spec.Adapters.Select(a => results[a.Name]).ToList(),
        };
    }

    private static AdapterResult TrainOne(AdaptersStageInputs inputs, AdapterSpec a, AdapterData data, LazyModels models,
        Dictionary<string, double> baseLosses, Dictionary<string, SequenceLosses> sequenceLosses, string baseSha, string fingerprint, PrecisionDecision precision, string directory, Action<string>? progress, CancellationToken cancellationToken)
    {
        var spec = inputs.Spec;
        var baseModel = models.Base;
        int validation = (int)Math.Min(AdapterEvaluator.MaxSequences, data.Validation.Count);
        // The packers refuse data without validation (AFM2004); kept as a diagnostic so no path reaches an internal error.
        if (validation == 0)
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, DataDiagnostics.NoValidationSequences,
                $"Adapter '{a.Name}' has no validation sequences ({data.Describe}) to measure it on: add data so some can be held out.",
                a.Location ?? SourceLocation.FileOnly(spec.ProjectPath)));
        if (!baseLosses.TryGetValue(data.Describe, out double baseLoss))
            baseLosses[data.Describe] = baseLoss = AdapterEvaluator.MeanLoss(baseModel, data.Validation);
        double? floatLoss = a.Kind == AdapterKind.AccuracyRecovery ? models.FloatLoss(data.Describe, data.Validation) : null;

        double scale = a.Alpha / a.Rank;
        using var adapter = a.InitFrom is { } init
            ? AdapterFile.Read(Path.Combine(inputs.OutputDirectory, init, AdapterFile.FileName), spec.Architecture, scale).Adapter
            : LoraAdapter.Create(spec.Architecture, a.Rank, a.Alpha, AdapterSeed(spec.Seed, a.Name));
        double? initialDivergence = null;
        if (a.Kind == AdapterKind.AccuracyRecovery && a.Init == AdapterInit.Error)
            initialDivergence = StartFromError(a, adapter, models, data, validation, progress);
        double? initialLoss = null;
        if (a.Kind == AdapterKind.Feature)
        {
            adapter.Attach(baseModel);
            initialLoss = AdapterEvaluator.MeanLoss(baseModel, data.Validation);
            adapter.Detach();
        }
        string origin = a.InitFrom is { } from ? $", from {from}"
            : initialDivergence is double kl ? FormattableString.Invariant($", from the quantization error (KL to float {kl:0.00000} before training)") : ", from zero";
        progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"adapters {a.Name}: {a.KindName} rank {a.Rank}, {a.Steps} steps x {a.BatchSize} x {a.SequenceLength} tokens, lr {a.LearningRate:0.0e0}, {adapter.ParameterCount:N0} parameters{origin}"));
        var clock = Stopwatch.StartNew();
        var curve = new AdapterTrainer(baseModel, adapter, a, progress) { Precision = precision }.Train(data.Train, (ulong)AdapterSeed(spec.Seed, a.Name + "/data"),
            a.Distillation > 0 ? models.Float : null, cancellationToken);
        adapter.Attach(baseModel);
        double adaptedLoss = AdapterEvaluator.MeanLoss(baseModel, data.Validation);
        adapter.Detach();
        var recovery = a.Kind == AdapterKind.AccuracyRecovery
            ? RecoveryEvaluation.Measure(spec, a, data.Describe, data.Train, data.Validation, models, adapter, sequenceLosses, precision, progress, cancellationToken)
            : null;

        var info = new AdapterInfo(a.Name, a.KindName, a.Rank, a.Version, baseSha);
        long bytes = 0;
        AdapterResult? result = null;
        AtomicOutput.ReplaceDirectory(directory, temp =>
        {
            string file = Path.Combine(temp, AdapterFile.FileName);
            AdapterFile.Write(file, adapter, info);
            bytes = new FileInfo(file).Length;
            result = new AdapterResult
            {
                Name = a.Name, Kind = a.KindName, Rank = a.Rank, Alpha = a.Alpha, Version = a.Version, InitFrom = a.InitFrom,
                Data = data.Describe, Steps = a.Steps, Tokens = a.Steps * a.BatchSize * a.SequenceLength, Parameters = adapter.ParameterCount,
                Bytes = bytes, BaseSha256 = baseSha, Fingerprint = fingerprint, ValidationSequences = validation,
                Objective = a.Kind == AdapterKind.AccuracyRecovery ? a.ObjectiveName : null, Distillation = a.Kind == AdapterKind.AccuracyRecovery ? a.Distillation : null,
                ControlLoss = recovery?.ControlLoss, BaseDivergence = recovery?.BaseDivergence, AdaptedDivergence = recovery?.AdaptedDivergence,
                InitialDivergence = Round(initialDivergence), Init = a.Init == AdapterInit.Error ? a.InitName : null,
                Recovery = recovery?.Measurement, LayerDivergences = recovery?.Layers,
                Precision = precision.Ran, PrecisionReason = precision.Reason,
                FloatLoss = Round(floatLoss), BaseLoss = Round(baseLoss)!.Value, InitialLoss = Round(initialLoss), AdaptedLoss = Round(adaptedLoss)!.Value,
                TrainCurve = curve,
            };
            File.WriteAllText(Path.Combine(temp, ResultFile), JsonSerializer.Serialize(result, Json));
        });
        var r = result!;
        string share = r.Recovery is { } m ? $"; {RecoveryText.Summary(m)}" : "";
        progress?.Invoke(a.Kind == AdapterKind.AccuracyRecovery
            ? FormattableString.Invariant($"adapters {a.Name}: done in {clock.Elapsed.TotalSeconds:0.0}s, perplexity float {r.FloatPerplexity:0.000}, base {r.BasePerplexity:0.000}, with adapter {r.AdaptedPerplexity:0.000}{share}")
            : FormattableString.Invariant($"adapters {a.Name}: done in {clock.Elapsed.TotalSeconds:0.0}s, response perplexity base {r.BasePerplexity:0.000}, initial {Math.Exp(initialLoss!.Value):0.000}, with adapter {r.AdaptedPerplexity:0.000}"));
        return r;
    }

    /// <summary>
    /// Init="error": the adapter's pairs become the quantization error's best rank-r approximation (<see cref="ErrorInitialization"/>),
    /// with H from the float model's inputs on the adapter's own training sequences; returns KL(float ‖ base + adapter) before
    /// any step. The float control is not started this way: the float model has no error, and the error start of a base
    /// without error is zero (RecoveryEvaluation), so the control is the zero start's.
    /// </summary>
    private static double StartFromError(AdapterSpec a, LoraAdapter adapter, LazyModels models, AdapterData data, int validation, Action<string>? progress)
    {
        if (!models.Quantized)
            throw new InvalidOperationException($"Adapter '{a.Name}' starts from the quantization error, but its base is the float model (AFM6012 refuses that in a project).");
        progress?.Invoke($"adapters {a.Name}: starting from the quantization error's best rank-{a.Rank} approximation " +
            $"(second moments of the float model's inputs on {Math.Min(ErrorInitialization.CalibrationSequences, data.Train.Count)} training sequences)");
        ErrorInitialization.Apply(adapter, models.Float, models.Base, data.Train);
        adapter.Attach(models.Base);
        try
        {
            return Stages.Evaluator.MeanLossAndDivergence(models.Float, models.Base, data.Validation, Stages.Evaluator.Spread(data.Validation, validation)).Divergence;
        }
        finally
        {
            adapter.Detach();
        }
    }

    private static AdapterResult? TryReuse(string directory, string fingerprint)
    {
        string path = Path.Combine(directory, ResultFile);
        if (!File.Exists(path) || !File.Exists(Path.Combine(directory, AdapterFile.FileName))) return null;
        try
        {
            var result = JsonSerializer.Deserialize<AdapterResult>(File.ReadAllText(path), Json);
            return result?.Fingerprint == fingerprint ? result : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Fingerprint(ModelSpec spec, AdapterSpec adapter, string baseSha, string floatSha, string data, string? initFrom, PrecisionDecision precision)
    {
        var facts = new
        {
            // The determinism mode, like the trainer's: other kernels, other adapter weights, even from the same base bytes.
            FormatVersion, spec.Seed, spec.Threads, spec.Determinism, spec.Architecture, Adapter = adapter with { Location = null, Data = [] },
            DataFiles = adapter.Data.Select(AdapterFile.Sha256), baseSha, floatSha, data, initFrom,
        };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(facts);
        // What ran, for adapters that declared anything but fp32 (fp32 ones keep their fingerprints), as in the trainer's.
        if (adapter.Precision != TrainingPrecision.Fp32) json = [.. json, .. System.Text.Encoding.UTF8.GetBytes("|ran:" + precision.Ran)];
        return Convert.ToHexStringLower(SHA256.HashData(json));
    }

    /// <summary>A seed per (project seed, name): adapters draw different A, and reordering them changes nothing.</summary>
    internal static long AdapterSeed(long seed, string name)
    {
        ulong state = unchecked((ulong)seed);
        foreach (char c in name) state = unchecked((state ^ c) * 0x100000001B3UL);
        return (long)(Stages.SequenceSampler.SplitMix64(ref state) >> 1);
    }

    private static double? Round(double? value) => value is double v ? AdapterTrainer.Round(v) : null;

    private static AdapterData OpenData(AdaptersStageInputs inputs, AdapterSpec a, Action<string>? progress)
    {
        if (a.Kind == AdapterKind.AccuracyRecovery)
        {
            var stage = a.TrainingStage!;
            return new AdapterData($"stage {stage}", LossMaskedSequences.Open(inputs.DataDirectory, stage, DataSplit.Train),
                LossMaskedSequences.Open(inputs.DataDirectory, stage, DataSplit.Validation));
        }
        string work = Path.Combine(inputs.OutputDirectory, WorkFolder, a.Name);
        // One stage name for every feature adapter: the train/validation split hashes example ids that include it, so
        // adapters over the same files (e.g. from recovery vs from zero) are measured on the same held-out examples.
        var stageSpec = new TrainingStageSpec
        {
            Name = FeatureDataStage, Kind = StageKind.Sft, Tokens = a.Tokens, SequenceLength = a.SequenceLength, BatchSize = a.BatchSize,
            LearningRate = a.LearningRate, WarmupSteps = a.WarmupSteps, FinalLearningRateRatio = a.FinalLearningRateRatio,
            Schedule = LearningRateSchedule.Cosine, WeightDecay = 0, GradientClip = 1, RopeBase = inputs.Spec.CalibrationStage!.RopeBase,
            Mix = [], EvalEvery = 1, Data = a.Data, PromptField = a.PromptField, ResponseField = a.ResponseField, Location = a.Location,
        };
        SftDataSet.Pack(stageSpec, inputs.Spec, inputs.TokenizerDirectory, work, progress);
        string files = string.Join(";", a.Data.Select(Path.GetFileName));
        return new AdapterData($"examples of {files} ({a.PromptField} -> {a.ResponseField})",
            LossMaskedSequences.Open(work, FeatureDataStage, DataSplit.Train), LossMaskedSequences.Open(work, FeatureDataStage, DataSplit.Validation));
    }

    private sealed record AdapterData(string Describe, IPackedSequences Train, IPackedSequences Validation) : IDisposable
    {
        public void Dispose()
        {
            (Train as IDisposable)?.Dispose();
            (Validation as IDisposable)?.Dispose();
        }
    }

    /// <summary>The base and float models, loaded on first use (a build whose adapters are all up to date loads neither).</summary>
    internal sealed class LazyModels(AdaptersStageInputs inputs, double ropeBase) : IDisposable
    {
        private AfmDecoder? baseModel, floatModel, controlModel;
        private readonly Dictionary<string, double> floatLosses = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Dictionary<string, double>> partDivergences = new(StringComparer.Ordinal);

        /// <summary>KL(float ‖ float with one part quantized) per part, on one adapter data's validation: the same for every adapter on it.</summary>
        public Dictionary<string, double> QuantizedPartDivergences(string data) =>
            partDivergences.TryGetValue(data, out var parts) ? parts : partDivergences[data] = new(StringComparer.Ordinal);

        public AfmDecoder Base => baseModel ??= BuildBase();

        private AfmDecoder BuildBase()
        {
            if (inputs.DequantizeBase is not { } dequantize) return AdapterBase.FromFloat(inputs.Spec.Architecture, inputs.FloatWeightsPath);
            var model = AdapterBase.FromWeights(inputs.Spec.Architecture, dequantize(), ropeBase);
            TorchRuntime.ReleaseFreeMemory(); // the dequantized arrays, garbage now, go back to the system
            return model;
        }

        public AfmDecoder Float => inputs.DequantizeBase is null ? Base : floatModel ??= AdapterBase.FromFloat(inputs.Spec.Architecture, inputs.FloatWeightsPath);

        /// <summary>A second float model the controls train on: the teacher (<see cref="Float"/>) must stay without adapter.</summary>
        public AfmDecoder ControlBase => controlModel ??= AdapterBase.FromFloat(inputs.Spec.Architecture, inputs.FloatWeightsPath);

        public bool Quantized => inputs.DequantizeBase is not null;

        public double FloatLoss(string data, IPackedSequences validation)
        {
            if (!floatLosses.TryGetValue(data, out double loss)) floatLosses[data] = loss = AdapterEvaluator.MeanLoss(Float, validation);
            return loss;
        }

        public void Dispose()
        {
            baseModel?.Dispose();
            floatModel?.Dispose();
            controlModel?.Dispose();
        }
    }
}
