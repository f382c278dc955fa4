using Afm.Core.IO;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Evaluation.Tasks;

namespace Afm.Evaluation.Tests;

public class TaskFileReaderTests
{
    private static Diagnostic ErrorOf(Action read) => Assert.Throws<DiagnosticException>(read).Diagnostic;

    [Fact]
    public void A_label_outside_the_choices_is_an_error_at_its_line()
    {
        using var files = new TaskFiles();
        var file = files.Write("mc.jsonl", """{"context": "a", "choices": ["x", "y"], "label": 1}""", """{"context": "b", "choices": ["x", "y"], "label": 2}""");
        var error = ErrorOf(() => TaskFileReader.ReadMultipleChoice(TaskFiles.Task(EvalTaskKind.MultipleChoice, file)));
        Assert.Equal(EvaluationCodes.LabelOutsideChoices, error.Code);
        Assert.Equal(new SourceLocation(file, 2, 1), error.Location);
    }

    [Fact]
    public void A_label_text_that_is_no_choice_is_an_error()
    {
        using var files = new TaskFiles();
        var file = files.Write("mc.jsonl", """{"context": "a", "choices": ["x", "y"], "label": "z"}""");
        Assert.Equal(EvaluationCodes.LabelOutsideChoices, ErrorOf(() => TaskFileReader.ReadMultipleChoice(TaskFiles.Task(EvalTaskKind.MultipleChoice, file))).Code);
    }

    [Fact]
    public void A_missing_field_is_an_error_at_its_line_naming_the_field_and_the_metadata()
    {
        using var files = new TaskFiles();
        var file = files.Write("g.jsonl", """{"prompt": "p", "reference": "r"}""", "", """{"prompt": "p", "response": "r"}""");
        var error = ErrorOf(() => TaskFileReader.ReadGenerate(TaskFiles.Task(EvalTaskKind.Generate, file)));
        Assert.Equal(EvaluationCodes.MissingField, error.Code);
        Assert.Equal(3, error.Location.Line);
        Assert.Contains("\"reference\"", error.Message);
        Assert.Contains("ReferenceField", error.Message);
    }

    [Fact]
    public void Field_names_come_from_the_task()
    {
        using var files = new TaskFiles();
        var file = files.Write("mc.jsonl", """{"query": "q", "endings": ["x", "y"], "gold": 1}""");
        var task = TaskFiles.Task(EvalTaskKind.MultipleChoice, file) with { ContextField = "query", ChoicesField = "endings", LabelField = "gold" };
        var item = Assert.Single(TaskFileReader.ReadMultipleChoice(task));
        Assert.Equal(("q", 1), (item.Context, item.Label));
    }

    [Fact]
    public void A_line_that_is_not_json_is_an_error_at_its_line()
    {
        using var files = new TaskFiles();
        var file = files.Write("mc.jsonl", "{not json");
        var error = ErrorOf(() => TaskFileReader.ReadMultipleChoice(TaskFiles.Task(EvalTaskKind.MultipleChoice, file)));
        Assert.Equal((EvaluationCodes.BadJsonLine, 1), (error.Code, error.Location.Line));
    }

    [Fact]
    public void Choices_that_are_not_strings_are_an_error()
    {
        using var files = new TaskFiles();
        var file = files.Write("mc.jsonl", """{"context": "a", "choices": ["x", 3], "label": 0}""");
        Assert.Equal(EvaluationCodes.WrongFieldType, ErrorOf(() => TaskFileReader.ReadMultipleChoice(TaskFiles.Task(EvalTaskKind.MultipleChoice, file))).Code);
    }

    [Fact]
    public void A_file_without_records_is_an_error()
    {
        using var files = new TaskFiles();
        var file = files.Write("mc.jsonl", "", "  ");
        Assert.Equal(EvaluationCodes.NoRecords, ErrorOf(() => TaskFileReader.ReadMultipleChoice(TaskFiles.Task(EvalTaskKind.MultipleChoice, file))).Code);
    }

    [Fact]
    public void A_text_file_is_one_document_and_a_json_lines_file_one_per_record()
    {
        using var files = new TaskFiles();
        var text = files.Write("a.txt", "one", "two");
        var lines = files.Write("b.jsonl", """{"text": "x"}""", """{"text": "y"}""");
        var documents = TaskFileReader.ReadDocuments(TaskFiles.Task(EvalTaskKind.Perplexity, text, lines));
        Assert.Equal(["one\ntwo\n", "x", "y"], documents.Select(d => d.Text));
    }

    [Fact]
    public void A_task_line_longer_than_16_Mi_characters_is_AFM2350_at_that_line()
    {
        using var files = new TaskFiles();
        var file = files.Write("g.jsonl", """{"prompt": "p", "reference": "r"}""");
        using (var stream = new FileStream(file, FileMode.Open)) stream.SetLength(stream.Length + (1L << 30)); // sparse: line 2 has no end
        var error = ErrorOf(() => TaskFileReader.ReadGenerate(TaskFiles.Task(EvalTaskKind.Generate, file)));
        Assert.Equal((JsonLinesFile.LineTooLong, new SourceLocation(file, 2, 1)), (error.Code, error.Location));
    }

    [Fact]
    public void A_perplexity_text_file_over_1_GB_is_AFM2351_at_the_file()
    {
        using var files = new TaskFiles();
        var file = Path.Combine(files.Directory, "book.txt");
        using (var stream = File.Create(file)) stream.SetLength(TextDocumentFile.MaxDocumentBytes + 1); // sparse
        var error = ErrorOf(() => TaskFileReader.ReadDocuments(TaskFiles.Task(EvalTaskKind.Perplexity, file)));
        Assert.Equal((TextDocumentFile.TooLarge, SourceLocation.FileOnly(file)), (error.Code, error.Location));
    }
}
