using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Interchange.HuggingFace;
using Afm.Core.Artifacts;

namespace Afm.Training.Stages;

/// <summary>
/// The train stage's side of a BaseModel (specs/afmproj.md): the checkpoint converted to the decoder's tensor names as
/// fp32 (<c>checkpoints/base/model.safetensors</c>, kept while the checkpoint's files are unchanged), which the first
/// TrainingStage starts from, or which, without a stage, is the stage's model as it is.
/// </summary>
public static class BaseModelWeights
{
    public const string Folder = "base";

    /// <summary>The converted weights' path, converting them unless the checkpoint is the one converted last time.</summary>
    public static string Convert(ModelSpec spec, string checkpointDirectory, Action<string> progress)
    {
        var baseModel = spec.BaseModel!;
        var folder = Path.Combine(checkpointDirectory, Folder);
        var weights = Path.Combine(folder, Checkpoints.StageCheckpoint.WeightsFile);
        var stamp = Path.Combine(folder, "source.json");
        // What the converted file was made from: the checkpoint's content, its format's reader and the architecture.
        var source = SpecJson.Serialize(new { baseModel.Format, Class = baseModel.Architecture, baseModel.Files, Decoder = spec.Architecture });
        if (File.Exists(weights) && File.Exists(stamp) && File.ReadAllText(stamp) == source)
        {
            progress($"train: base model up to date ({weights})");
            return weights;
        }
        Directory.CreateDirectory(folder);
        if (File.Exists(stamp)) File.Delete(stamp);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            using var checkpoint = HfCheckpoint.Open(baseModel.Folder);
            if (SpecJson.Serialize(checkpoint.Config.Architecture with { MaxSequenceLength = 0 }) != SpecJson.Serialize(spec.Architecture with { MaxSequenceLength = 0 }))
                throw new BaseModelException(Afm.Interchange.InterchangeCodes.ConfigMalformed,
                    "config.json changed since the project was validated; build again.");
            checkpoint.WriteDecoderWeights(weights, DecoderWeightsMetadata.For(spec.Architecture, spec.Architecture.RopeBase));
        }
        catch (BaseModelException e)
        {
            // The files were checked at validation; this is a checkpoint changed or damaged since then.
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, e.Code, $"BaseModel: {e.Message}",
                baseModel.Location ?? SourceLocation.FileOnly(spec.ProjectPath)));
        }
        AtomicOutput.WriteAllText(stamp, source);
        progress($"train: converted base model {baseModel.Architecture} to the decoder's names in {clock.Elapsed.TotalSeconds:0.0} s ({new FileInfo(weights).Length:N0} bytes fp32)");
        return weights;
    }

    /// <summary>Without a TrainingStage: the base is the model. Its report has no stage and no validation loss (nothing was trained or held out).</summary>
    public static void WriteUntrained(ModelSpec spec, string weights, string outputDirectory, Action<string> progress)
    {
        AtomicOutput.WriteFile(Path.Combine(outputDirectory, StageLayout.Train.Weights), s =>
        {
            using var source = File.OpenRead(weights);
            source.CopyTo(s);
        });
        var parameters = SafeTensorsHeader.Read(weights).Tensors.Values.Sum(t => t.ElementCount);
        var report = new TrainingSummary { ParameterCount = parameters, FinalValidationLoss = double.NaN, UnigramBaselineLoss = double.NaN, Stages = [] };
        AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Train.Timings), SpecJson.Serialize(new TrainingTimings { Stages = [] }));
        AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Train.Report), SpecJson.Serialize(report));
        progress($"train: no TrainingStage; the model is BaseModel {spec.BaseModel!.Architecture} as it is ({parameters:N0} parameters)");
    }
}
