using Afm.Core.IO;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Corpora;

namespace Afm.Data.Tests.Corpora;

public sealed class CorpusReaderTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private CorpusSpec Corpus(CorpusFormat format, params string[] files) => new()
    {
        Name = "web",
        Files = files.Select(f => _directory.Combine(f)).ToList(),
        Format = format,
        TextField = "text",
    };

    private void WriteFile(string name, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_directory.Combine(name))!);
        File.WriteAllText(_directory.Combine(name), content);
    }

    [Fact]
    public void A_text_file_is_one_document_named_by_corpus_and_relative_path()
    {
        WriteFile("a/one.txt", "first\nstill first");
        WriteFile("b/two.txt", "second");
        var documents = CorpusReader.Read(Corpus(CorpusFormat.Text, "a/one.txt", "b/two.txt")).ToList();
        Assert.Equal([new Document("web/a/one.txt", "first\nstill first"), new Document("web/b/two.txt", "second")], documents);
    }

    [Fact]
    public void A_json_lines_file_yields_one_document_per_non_blank_line_with_its_line_number()
    {
        WriteFile("d.jsonl", "{\"text\":\"alpha\"}\n\n{\"text\":\"beta\",\"other\":1}\n");
        var documents = CorpusReader.Read(Corpus(CorpusFormat.JsonLines, "d.jsonl")).ToList();
        Assert.Equal([new Document("web/d.jsonl:1", "alpha"), new Document("web/d.jsonl:3", "beta")], documents);
    }

    [Theory]
    [InlineData("{\"text\":\"ok\"}\n{not json}\n")]
    [InlineData("{\"text\":\"ok\"}\n{\"body\":\"no text field\"}\n")]
    [InlineData("{\"text\":\"ok\"}\n{\"text\":42}\n")]
    [InlineData("{\"text\":\"ok\"}\n[\"an array\"]\n")]
    public void A_bad_json_line_is_error_AFM2001_at_that_line(string content)
    {
        WriteFile("bad.jsonl", content);
        var error = Assert.Throws<DiagnosticException>(() => CorpusReader.Read(Corpus(CorpusFormat.JsonLines, "bad.jsonl")).ToList());
        Assert.Equal("AFM2001", error.Diagnostic.Code);
        Assert.Equal(new SourceLocation(_directory.Combine("bad.jsonl"), 2, 1), error.Diagnostic.Location);
    }

    [Fact]
    public void A_corpus_without_documents_is_error_AFM2002_at_the_corpus_item()
    {
        WriteFile("empty.jsonl", "\n  \n");
        var location = new SourceLocation("model.afmproj", 12, 5);
        var spec = Corpus(CorpusFormat.JsonLines, "empty.jsonl") with { Location = location };
        var error = Assert.Throws<DiagnosticException>(() => CorpusReader.Read(spec).ToList());
        Assert.Equal("AFM2002", error.Diagnostic.Code);
        Assert.Equal(location, error.Diagnostic.Location);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \n\t\n")]
    public void A_corpus_whose_only_text_file_is_blank_is_error_AFM2002(string content)
    {
        WriteFile("empty.txt", content);
        var location = new SourceLocation("model.afmproj", 7, 5);
        var spec = Corpus(CorpusFormat.Text, "empty.txt") with { Location = location };
        var error = Assert.Throws<DiagnosticException>(() => CorpusReader.Read(spec).ToList());
        Assert.Equal("AFM2002", error.Diagnostic.Code);
        Assert.Equal(location, error.Diagnostic.Location);
    }

    [Fact]
    public void An_eval_set_is_read_like_a_corpus()
    {
        WriteFile("eval.jsonl", "{\"text\":\"held out\"}\n");
        var evalSet = new EvalSetSpec
        {
            Name = "eval", Files = [_directory.Combine("eval.jsonl")], Format = CorpusFormat.JsonLines, TextField = "text", Decontaminate = true,
        };
        Assert.Equal([new Document("eval/eval.jsonl:1", "held out")], CorpusReader.Read(evalSet).ToList());
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void A_json_lines_corpus_line_longer_than_16_Mi_characters_is_AFM2350_at_that_line()
    {
        WriteFile("huge.jsonl", "{\"text\":\"ok\"}\n");
        using (var stream = new FileStream(_directory.Combine("huge.jsonl"), FileMode.Open)) stream.SetLength(stream.Length + (2L << 30)); // sparse
        var error = Assert.Throws<DiagnosticException>(() => CorpusReader.Read(Corpus(CorpusFormat.JsonLines, "huge.jsonl")).ToList()).Diagnostic;
        Assert.Equal((JsonLinesFile.LineTooLong, new SourceLocation(_directory.Combine("huge.jsonl"), 2, 1)), (error.Code, error.Location));
    }

    [Fact]
    public void A_text_corpus_file_over_1_GB_is_AFM2351_at_the_file_before_it_is_read()
    {
        var path = _directory.Combine("web.txt");
        using (var stream = File.Create(path)) stream.SetLength(3L << 30); // sparse: a 3 GiB document, more than .NET's largest string
        var error = Assert.Throws<DiagnosticException>(() => CorpusReader.Read(Corpus(CorpusFormat.Text, "web.txt")).ToList()).Diagnostic;
        Assert.Equal((TextDocumentFile.TooLarge, SourceLocation.FileOnly(path)), (error.Code, error.Location));
    }
}
