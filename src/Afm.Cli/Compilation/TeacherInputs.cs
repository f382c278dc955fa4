using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Training.Distillation;

namespace Afm.Cli.Compilation;

/// <summary>
/// The built teacher as the train stage receives it from the SDK (the teacher project's weights, spec.json and
/// tokenizer folder), checked against the student: the teacher's top-1 ids only mean the same tokens when both
/// tokenizers are the same files (AFM3101).
/// </summary>
internal static class TeacherInputs
{
    public const string TokenizerMismatch = "AFM3101";
    private static readonly string[] TokenizerFiles = ["vocab.json", "merges.txt"];

    public static TeacherSource? Resolve(ModelSpec spec, string? weights, string? teacherSpecPath, string? teacherTokenizer, string? tokenizer)
    {
        if (spec.Teacher is not { } teacher) return null;
        if (string.IsNullOrEmpty(weights) || string.IsNullOrEmpty(teacherSpecPath) || string.IsNullOrEmpty(teacherTokenizer) || string.IsNullOrEmpty(tokenizer))
            throw InputFile.Error(InputFile.MissingOptions, "afm", "The project has a Teacher, but the train stage was not given the teacher's weights, spec and tokenizer " +
                "and the student's tokenizer (--teacher-weights, --teacher-spec, --teacher-tokenizer, --tokenizer); the SDK passes them.");
        var teacherSpec = SpecFile.Load(teacherSpecPath);
        var location = teacher.Location ?? SourceLocation.FileOnly(spec.ProjectPath);
        var different = TokenizerFiles.Where(f => !SameBytes(Path.Combine(teacherTokenizer, f), Path.Combine(tokenizer, f))).ToList();
        if (different.Count > 0)
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, TokenizerMismatch,
                $"The teacher {Path.GetFileName(teacher.ProjectPath)} has another tokenizer than this model " +
                $"(vocabulary {teacherSpec.Tokenizer.VocabSize} vs {spec.Tokenizer.VocabSize}; {string.Join(" and ", different)} differ), so its predictions " +
                "name other tokens. Give both projects the same Tokenizer settings, corpora and Seed.", location));
        return new TeacherSource(teacher, teacherSpec.Architecture, Path.GetFullPath(weights));
    }

    private static bool SameBytes(string a, string b) =>
        File.Exists(a) && File.Exists(b) && File.ReadAllBytes(a).AsSpan().SequenceEqual(File.ReadAllBytes(b));
}
