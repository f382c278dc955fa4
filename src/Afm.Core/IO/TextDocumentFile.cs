using Afm.Core.Diagnostics;

namespace Afm.Core.IO;

/// <summary>
/// A user's text file read whole as one document (a text corpus or eval set file, a perplexity EvalTask's text file),
/// through <see cref="BoundedFile"/>: no more than the limit plus one byte is ever read, so a huge file, a device that
/// never ends or a pipe that never closes cannot take the compiler's memory (.NET cannot even hold a string of 2^30
/// characters: such a file was an out-of-memory crash, AFM9003). A byte order mark is honoured, as File.ReadAllText does.
/// </summary>
public static class TextDocumentFile
{
    public const string TooLarge = "AFM2351";
    /// <summary>
    /// 1 GB (10^9 bytes): below .NET's largest string (2^30 - 33 characters) whatever the encoding, which 1 GiB of ASCII
    /// is not. Validate refuses a larger text Corpus or EvalSet file at its Include (AFM1307, the same limit); a reader
    /// meets one only when a file grew after validation, or in an EvalTask.
    /// </summary>
    public const long MaxDocumentBytes = 1_000_000_000;

    /// <summary>
    /// The file as one document; larger than <see cref="MaxDocumentBytes"/> is AFM2351 at the file. A file of size 0 is
    /// the empty document and is never opened, as <see cref="JsonLinesFile.Lines(string)"/> does: a pipe or device
    /// reports a size of 0, and opening a pipe would wait for a writer forever.
    /// </summary>
    public static string Read(string file) => new FileInfo(file).Length == 0 ? ""
        : BoundedFile.TryReadAllText(file, MaxDocumentBytes) ?? throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, TooLarge,
            $"The file is larger than {MaxDocumentBytes / 1e9:0.#} GB, the limit of a text file read as one document. Split it into several files, or write it as JSON lines (one document a line).",
            SourceLocation.FileOnly(file)));
}
