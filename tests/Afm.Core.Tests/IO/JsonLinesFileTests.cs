using System.Text;
using Afm.Core.Diagnostics;
using Afm.Core.IO;

namespace Afm.Core.Tests.IO;

/// <summary>The lines of a user's JSON-lines file: split as StreamReader.ReadLine splits them, and never a line longer than the limit in memory.</summary>
public sealed class JsonLinesFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("afm-jsonlines-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static List<string> ReadLineSplit(string path)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines;
    }

    [Theory]
    [InlineData("a\nb\n")]
    [InlineData("a\r\nb\r\n\r\nc")]
    [InlineData("a\rb\r\r\n")]
    [InlineData("\n\n x \n")]
    [InlineData("{\"text\": \"é ☃ 𝄞\"}\n{}")]
    public void Lines_and_their_numbers_are_those_of_ReadLine(string text)
    {
        var path = Write("f.jsonl", Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(text)).ToArray());
        var expected = ReadLineSplit(path);
        Assert.Equal(expected.Select((l, i) => (i + 1, l)), JsonLinesFile.Lines(path));
    }

    [Fact]
    public void A_carriage_return_line_feed_split_across_two_reads_ends_one_line()
    {
        // The reader decodes 64 Ki characters at a time: put the \r last in the first read and the \n first in the next.
        var first = new string('x', 64 * 1024 - 1);
        var path = Write("split.jsonl", Encoding.UTF8.GetBytes(first + "\r\n" + "y\n"));
        Assert.Equal([(1, first), (2, "y")], JsonLinesFile.Lines(path));
    }

    [Fact]
    public void A_UTF16_file_with_its_byte_order_mark_reads_as_ReadLine_reads_it()
    {
        var path = Write("utf16.jsonl", Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("{\"a\":1}\r\n{\"b\":2}\n")).ToArray());
        Assert.Equal([(1, "{\"a\":1}"), (2, "{\"b\":2}")], JsonLinesFile.Lines(path));
    }

    [Fact]
    public void A_line_over_the_limit_is_AFM2350_at_its_line_after_the_lines_before_it()
    {
        var path = Write("long.jsonl", Encoding.UTF8.GetBytes("{}\n" + new string('x', 101) + "\n{}\n"));
        var lines = new List<int>();
        var error = Assert.Throws<DiagnosticException>(() => { foreach (var (line, _) in JsonLinesFile.Lines(path, maxLineCharacters: 100)) lines.Add(line); }).Diagnostic;
        Assert.Equal([1], lines);
        Assert.Equal((JsonLinesFile.LineTooLong, new SourceLocation(path, 2, 1)), (error.Code, error.Location));
        Assert.Contains("100", error.Message);
        // A line of exactly the limit is read.
        Write("exact.jsonl", Encoding.UTF8.GetBytes(new string('x', 100)));
        Assert.Equal(100, JsonLinesFile.Lines(Path.Combine(_folder, "exact.jsonl"), maxLineCharacters: 100).Single().Text.Length);
    }

    [Fact]
    public void A_4_GiB_file_without_line_breaks_is_AFM2350_at_line_1_at_the_default_limit()
    {
        var path = Path.Combine(_folder, "huge.jsonl");
        using (var stream = File.Create(path)) stream.SetLength(4L << 30); // sparse: 4 GiB of zero bytes, no line break
        var error = Assert.Throws<DiagnosticException>(() => JsonLinesFile.Lines(path).ToList()).Diagnostic;
        Assert.Equal((JsonLinesFile.LineTooLong, new SourceLocation(path, 1, 1)), (error.Code, error.Location));
        Assert.Contains(JsonLinesFile.MaxLineCharacters.ToString("N0"), error.Message);
    }
}
