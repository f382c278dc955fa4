using System.Text;
using Afm.Core.Diagnostics;
using Afm.Core.IO;

namespace Afm.Core.Tests.IO;

/// <summary>A user's text file read whole, with a bound: as File.ReadAllText below it, refused above it without reading it.</summary>
public sealed class TextDocumentFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("afm-textdocument-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_file_under_the_limit_reads_as_File_ReadAllText_reads_it_byte_order_marks_included()
    {
        var utf8 = Path.Combine(_folder, "a.txt");
        File.WriteAllText(utf8, "first\nsecond ☃ 𝄞", new UTF8Encoding(true));
        var utf16 = Path.Combine(_folder, "b.txt");
        File.WriteAllText(utf16, "wide text", Encoding.Unicode);
        Assert.Equal(File.ReadAllText(utf8), TextDocumentFile.Read(utf8));
        Assert.Equal("wide text", TextDocumentFile.Read(utf16));
    }

    [Fact]
    public void A_file_over_1_GB_is_AFM2351_at_the_file()
    {
        var path = Path.Combine(_folder, "huge.txt");
        using (var stream = File.Create(path)) stream.SetLength(TextDocumentFile.MaxDocumentBytes + 1); // sparse
        var error = Assert.Throws<DiagnosticException>(() => TextDocumentFile.Read(path)).Diagnostic;
        Assert.Equal((TextDocumentFile.TooLarge, SourceLocation.FileOnly(path)), (error.Code, error.Location));
    }

    [Fact]
    public void A_device_that_never_ends_is_read_no_further_than_the_limit()
    {
        Assert.Null(BoundedFile.TryReadAllText("/dev/zero", 1 << 20));
        Assert.Null(BoundedFile.TryReadAllBytes("/dev/zero", 1 << 20));
    }
}
