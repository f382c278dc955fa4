using System.CommandLine;
using Afm.Core.Artifacts;
using Afm.Cli.Compilation;
using Afm.Training.Stages;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm train</c>: the options of the train stage (Afm.Training's <c>TrainStage</c>), and the built teacher checked
/// against this model's tokenizer (TeacherInputs).
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
        var command = new Command(StageLayout.Train.Name, "Train the model through its TrainingStage items.")
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
        TrainStage.Run(spec, dataDirectory, outputDirectory, resolveTeacher(spec), CompilerOutput.Progress);
        return 0;
    }
}
