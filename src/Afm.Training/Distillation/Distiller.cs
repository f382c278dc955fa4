using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Model;
using static TorchSharp.torch;

namespace Afm.Training.Distillation;

/// <summary>
/// The trainer's entry points for a Teacher: check the built teacher against the student (AFM3102, AFM3103), load
/// it, and initialize the student from it by pruning when asked. The tokenizer check (AFM3101) is done by the caller,
/// which holds both tokenizers' files.
/// </summary>
public static class Distiller
{
    public const string PruneIncompatible = "AFM3102";
    public const string TeacherTooShort = "AFM3103";

    public static TeacherModel Open(ModelSpec student, TeacherSource teacher)
    {
        var location = teacher.Spec.Location ?? SourceLocation.FileOnly(student.ProjectPath);
        var longest = student.TrainingStages.MaxBy(s => s.SequenceLength)!;
        if (longest.SequenceLength > teacher.Architecture.MaxSequenceLength)
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, TeacherTooShort,
                $"Stage '{longest.Name}' trains on {longest.SequenceLength} tokens, but the teacher {Path.GetFileName(teacher.Spec.ProjectPath)} " +
                $"serves at most {teacher.Architecture.MaxSequenceLength} (its MaxSequenceLength). Train the teacher on sequences as long, or shorten the stage.",
                location));
        if (teacher.Spec.Init == TeacherInit.PruneFfn && FfnPruning.Incompatibility(teacher.Architecture, student.Architecture) is { } why)
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, PruneIncompatible,
                $"Prune=\"ffn\" cannot start this model from {Path.GetFileName(teacher.Spec.ProjectPath)}: {why}. " +
                "Make those equal to the teacher's, or remove Prune.",
                teacher.Spec.InitLocation ?? location));
        return TeacherModel.Load(teacher);
    }

    /// <summary>
    /// Replaces the student's weights by the teacher's pruned ones, with importance measured on the first
    /// <see cref="FfnPruning.CalibrationSequences"/> sequences of <paramref name="calibration"/>.
    /// </summary>
    public static void InitializeByPruning(TeacherModel teacher, AfmDecoder student, IPackedSequences calibration, Action<string>? progress)
    {
        int count = (int)Math.Min(FfnPruning.CalibrationSequences, calibration.Count);
        if (count == 0) throw new InvalidOperationException("Pruning needs calibration sequences, and the first stage has none.");
        int width = calibration.SequenceLength + 1;
        var buffer = new int[count * width];
        for (int i = 0; i < count; i++) calibration.Read(i, buffer.AsSpan(i * width, width));
        using var scope = NewDisposeScope();
        var inputs = tensor(buffer, [count, width]).to_type(ScalarType.Int64).narrow(1, 0, calibration.SequenceLength);
        var importance = FfnPruning.Importance(teacher.Model, inputs);
        FfnPruning.Apply(teacher.Model, student, importance);
        progress?.Invoke($"train: initialized from the teacher, FFN hidden width pruned {Widths(teacher.Source.Architecture)} -> " +
            $"{Widths(student.Architecture)} per layer by activation-weighted importance over {count} calibration sequences");
    }

    /// <summary>The FFN width, or each layer's (layer-wise scaling) in layer order.</summary>
    private static string Widths(Afm.Core.Spec.ArchitectureSpec a) => a.LayerShapes is { } shapes
        ? "(" + string.Join(",", shapes.Select(s => s.FfnDim)) + ")" : a.FfnDim.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
