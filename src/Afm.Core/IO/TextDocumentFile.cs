using System.Text;
using Afm.Core.Diagnostics;

namespace Afm.Core.IO;

/// <summary>
/// A user's text file read whole, as one document (a text corpus or eval set file, a perplexity EvalTask's text file) or
/// as one value (a chat template file), with a bound: no more than the limit plus one byte is ever read, so a huge file,
/// a device that never ends or a pipe that never closes cannot take the compiler's memory (.NET cannot even hold a
/// string of more than about 1 Gi characters: such a file was an out-of-memory crash, AFM9003). A UTF-8, UTF-16 or
/// UTF-32 byte order mark is honoured, as File.ReadAllText does.
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
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>The file as one document; larger than <see cref="MaxDocumentBytes"/> is AFM2351 at the file.</summary>
    public static string Read(string file) => TryRead(file, MaxDocumentBytes) ?? throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, TooLarge,
        $"The file is larger than {MaxDocumentBytes / 1e9:0.#} GB, the limit of a text file read as one document. Split it into several files, or write it as JSON lines (one document a line).",
        SourceLocation.FileOnly(file)));

    /// <summary>The file's text, or null when it holds more than <paramref name="maxBytes"/> bytes (found before reading them when the file has a size).</summary>
    public static string? TryRead(string file, long maxBytes)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (stream.CanSeek && stream.Length > maxBytes) return null;
        using var bytes = new MemoryStream(stream.CanSeek ? (int)stream.Length : 0);
        var chunk = new byte[1 << 16];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            if (bytes.Length + read > maxBytes) return null; // a file that grew, a pipe or a device: read no further
            bytes.Write(chunk, 0, read);
        }
        bytes.Position = 0;
        using var reader = new StreamReader(bytes, Utf8NoBom, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }
}
