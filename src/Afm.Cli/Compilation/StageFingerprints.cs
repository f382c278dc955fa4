using Afm.Core.Artifacts;
using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Cli.Compilation;

/// <summary>
/// The part of the spec each stage depends on, written as <c>&lt;stage&gt;.fingerprint.json</c> only when
/// it changes. The SDK lists a stage's fingerprint among its Inputs, which is what makes an edit re-run
/// exactly the stages it affects (a new Mix re-packs data and re-trains, but keeps the tokenizer).
/// This is the one place that decides what affects what.
/// </summary>
public static class StageFingerprints
{
    public static void Write(ModelSpec spec, string directory)
    {
        var corpora = spec.Corpora.Select(c => new { c.Name, c.Files, c.Format, c.TextField });
        // A BaseModel by its content (its files' hashes, computed by validate), never by its folder: a changed checkpoint
        // re-runs what depends on it, a moved one nothing.
        var baseModel = spec.BaseModel is { } b ? new { b.Format, b.Architecture, b.Files } : null;
        Write(directory, StageLayout.Tokenizer.Name, new { spec.Tokenizer.Kind, spec.Tokenizer.VocabSize, spec.Tokenizer.SplitDigits,
            spec.Tokenizer.ByteFallback, spec.Tokenizer.SpecialTokens, corpora, spec.Seed, baseModel });
        Write(directory, StageLayout.Data.Name, new
        {
            corpora,
            evalSets = spec.EvalSets.Select(e => new { e.Name, e.Files, e.Format, e.TextField, e.Decontaminate,
                e.DecontaminationMinN, e.DecontaminationMaxN, e.CommonNGramThreshold }),
            // Cleaning settings live apart from `corpora`, which the tokenizer shares: they must not re-train it.
            nearDuplicateThresholds = spec.Corpora.Select(c => new { c.Name, c.NearDuplicateThreshold }),
            stages = spec.PackedStages.Select(s => new { s.Name, s.Tokens, s.SequenceLength, s.Mix, s.Kind, s.Data, s.PromptField, s.ResponseField }),
            spec.Seed,
            spec.ValidationFraction,
        });
        Write(directory, StageLayout.Train.Name, new
        {
            spec.Architecture,
            stages = spec.TrainingStages.Select(s => s with { Location = null }),
            spec.Seed,
            spec.Threads,
            spec.Determinism,
            // The teacher's weights are a file input of the train target (the SDK lists them) and part of the trainer's fingerprint.
            teacher = spec.Teacher is null ? null : spec.Teacher with { Location = null, InitLocation = null },
            baseModel,
        });
        // The graph depends on the architecture (and on the trained weights, which the SDK lists as a file input).
        // With a plan the graph is built from the quantized weights (a file input too); adding or removing the plan
        // switches which file that is, so the fingerprint records whether there is one.
        // The plan's RuntimeActivations is how the graph multiplies resident weights: it re-exports, it does not re-quantize.
        Write(directory, StageLayout.Export.Name, new { spec.Architecture, Afm.Onnx.Export.DecoderExporter.Opset, quantized = spec.Quantization is not null, spec.OnnxOps,
            runtimeActivations = spec.Quantization?.RuntimeActivations });
        // Only the plan (and what the weights depend on): editing the plan re-runs quantize and later, never training.
        Write(directory, StageLayout.Quantize.Name, new
        {
            plan = spec.Quantization is null ? null : spec.Quantization with { Location = null, TargetLocation = null, MaxWeightBytesLocation = null, MaxLatencyMsLocation = null, MaxEnergyMjLocation = null,
                RuntimeActivations = RuntimeActivations.Float32 },
            spec.Architecture,
            spec.Seed,
            spec.Threads,
            spec.Determinism,
        });
        // Costs depend on the shapes, the devices, the LUT group size, the graph the plan exports (its operators, resident
        // weights and their activations: GraphForm.Of) and (for the measured host) the threads; not on weights.
        Write(directory, StageLayout.Profile.Name, new
        {
            spec.Name, spec.Architecture, spec.Threads, groupSize = spec.Quantization?.GroupSize,
            devices = spec.Devices.Select(d => d with { Location = null }),
            graph = Afm.Profiling.Model.GraphForm.Of(spec),
        });
        // The adapters' settings (the weights, data and tokenizer they depend on are file inputs of the target).
        Write(directory, StageLayout.Adapters.Name, new
        {
            adapters = spec.Adapters.Select(a => a with { Location = null }),
            spec.Architecture,
            spec.Seed,
            spec.Threads,
            spec.Determinism,
            plan = spec.Quantization is not null,
        });
        // The runtime formats beside the package (their weights, tokenizer, graph and adapters are file inputs of the targets).
        // The Hugging Face folder: what its config and README say (the weights, tokenizer and adapters are file inputs), so
        // another export format turned on does not write it again.
        // The project's chat template by its file (its content is a file input of the targets), written beside each format's tokenizer.
        var chatTemplate = spec.ChatTemplate?.Path;
        Write(directory, StageLayout.ExportHuggingFace.Name, new { spec.Name, spec.Version, spec.Architecture, baseModel, quantized = spec.Quantization is not null, chatTemplate });
        Write(directory, StageLayout.ExportGguf.Name, new { spec.Name, spec.Version, spec.Architecture, spec.Exports.GgufTypes, quantized = spec.Quantization is not null, chatTemplate });
        Write(directory, StageLayout.ExportGenAI.Name, new { spec.Architecture, chatTemplate });
        // The tasks and how they are read (their files, the graphs and the adapters are file inputs of the target); the seed
        // draws the few-shot examples and the bootstrap resamples.
        // Tolerance only concerns the gate, which reads it from spec.json: editing it re-runs no evaluation.
        Write(directory, StageLayout.Evaluate.Name, new { tasks = spec.EvalTasks.Select(t => t with { Location = null, Tolerance = null }), spec.Seed });
        WriteText(directory, StageLayout.Package.Name, PortableSpec.Serialize(spec, SpecFile.Options));
    }

    private static void Write(string directory, string stage, object fingerprint) => WriteText(directory, stage, SpecFile.Serialize(fingerprint));

    private static void WriteText(string directory, string stage, string fingerprint) =>
        AtomicOutput.WriteAllTextIfChanged(Path.Combine(directory, StageLayout.Spec.Fingerprint(stage)), fingerprint);
}
