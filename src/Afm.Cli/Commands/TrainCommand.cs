using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Packaging;
using Afm.Core.IO;
using Afm.Data.Packing;
using Afm.Training.Stages;
using Afm.Core.Artifacts;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm train</c>: trains the project's stages in order. Checkpoints live in <c>&lt;out&gt;/checkpoints/</c>
/// and survive a failed or killed build; the declared outputs (<c>model.safetensors</c>, <c>report.json</c>)
/// are written last, atomically.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var data = StageOptions.Data();
        var output = StageOptions.Out("Train folder: checkpoints, final weights and the training report.");
        // A project with a Teacher: the teacher's outputs (the SDK built it first) and the student's tokenizer to compare.
        var teacherWeights = new Option<string>("--teacher-weights") { Description = "The teacher's trained model.safetensors." };
        var teacherSpec = new Option<string>("--teacher-spec") { Description = "The teacher's spec.json." };
        var teacherTokenizer = new Option<string>("--teacher-tokenizer") { Description = "The teacher's tokenizer folder." };
        var tokenizer = new Option<string>("--tokenizer") { Description = "This model's tokenizer folder (compared with the teacher's)." };
        var command = new Command("train", "Train the model through its TrainingStage items.")
            { spec, data, output, teacherWeights, teacherSpec, teacherTokenizer, tokenizer };
        command.SetAction(result => CompilerRun.Guard(() =>
            Run(result.GetValue(spec)!, result.GetValue(data)!, result.GetValue(output)!, spec => TeacherInputs.Resolve(spec,
                result.GetValue(teacherWeights), result.GetValue(teacherSpec), result.GetValue(teacherTokenizer), result.GetValue(tokenizer)))));
        return command;
    }

    private static int Run(string specPath, string dataDirectory, string outputDirectory,
        Func<Afm.Core.Spec.ModelSpec, Afm.Training.Distillation.TeacherSource?> resolveTeacher)
    {
        var spec = SpecFile.Load(specPath);
        // A BaseModel is converted to the decoder's names first: the weights the stages continue from, or, without a
        // stage, the model itself.
        var baseWeights = spec.BaseModel is null ? null : BaseModelWeights.Convert(spec, Path.Combine(outputDirectory, StageLayout.Train.Checkpoints));
        if (spec.TrainingStages.Count == 0)
            return BaseModelWeights.WriteUntrained(spec, baseWeights!, outputDirectory);
        var teacher = resolveTeacher(spec);
        var index = DataIndex.Load(dataDirectory);
        var opened = new List<IPackedSequences>();
        try
        {
            IPackedSequences Open(string stage, string split)
            {
                // Masked (loss on response tokens only) for sft stages, plain for pretrain stages.
                var sequences = LossMaskedSequences.Open(dataDirectory, stage, split);
                opened.Add(sequences);
                return sequences;
            }

            var training = Trainer.Train(spec, Open, Path.Combine(outputDirectory, StageLayout.Train.Checkpoints), CompilerOutput.Progress, teacher: teacher,
                initialWeights: baseWeights);
            var report = TrainingSummary.From(training, index);
            CompilerOutput.Progress($"train: final validation loss {report.FinalValidationLoss:0.000} nats/token " +
                $"(perplexity {Math.Exp(report.FinalValidationLoss):0.00}) vs unigram baseline {report.UnigramBaselineLoss:0.000} nats/token " +
                $"of the validation data; {report.ParameterCount:N0} parameters");

            AtomicOutput.WriteFile(Path.Combine(outputDirectory, StageLayout.Train.Weights), s =>
            {
                using var weights = File.OpenRead(training.FinalWeightsPath);
                weights.CopyTo(s);
            });
            // Wall-clock numbers differ on every run, so they stay out of the report the artifact carries.
            AtomicOutput.WriteAllText(Path.Combine(outputDirectory, "timings.json"), SpecFile.Serialize(training.Timings));
            AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Train.Report), SpecFile.Serialize(report));
            return 0;
        }
        finally
        {
            foreach (var sequences in opened) (sequences as IDisposable)?.Dispose();
        }
    }
}
