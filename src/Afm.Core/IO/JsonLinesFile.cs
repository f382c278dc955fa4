using System.Text;
using Afm.Core.Diagnostics;

namespace Afm.Core.IO;

/// <summary>
/// The lines of a user's JSON-lines file (a corpus or eval set, sft and preference Data, EvalTask files), read as
/// <see cref="StreamReader.ReadLine"/> splits them (\n, \r or \r\n; a UTF-8, UTF-16 or UTF-32 byte order mark honoured)
/// but never holding more than <see cref="MaxLineCharacters"/> characters of one line: a line longer than that (a file
/// without line breaks, a multi-GB record) is AFM2350 at file(line,1), found after reading at most that much of it, so
/// the memory of a reader stays bounded whatever the file holds (specs/diagnostics.md).
/// </summary>
public static class JsonLinesFile
{
    public const string LineTooLong = "AFM2350";
    /// <summary>16 Mi characters: every line of up to 16 MiB of UTF-8 fits (a character is at least one byte).</summary>
    public const int MaxLineCharacters = 16 * 1024 * 1024;
    private const int BufferCharacters = 64 * 1024;
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>Every line with its 1-based number (blank ones too, so numbers are the editor's); none for a file of size 0.</summary>
    public static IEnumerable<(int Line, string Text)> Lines(string file) => Lines(file, MaxLineCharacters);

    internal static IEnumerable<(int Line, string Text)> Lines(string file, int maxLineCharacters)
    {
        // Never opened when empty: a pipe or device reports a size of 0, and opening a pipe would wait for a writer forever.
        if (new FileInfo(file).Length == 0) yield break;
        using var reader = new StreamReader(file, Utf8NoBom, detectEncodingFromByteOrderMarks: true);
        foreach (var line in BoundedLines(reader, maxLineCharacters, number => TooLong(file, number, maxLineCharacters)))
            yield return line;
    }

    /// <summary>
    /// The lines of <paramref name="reader"/> split as <see cref="TextReader.ReadLine"/> splits them, each yielded as soon
    /// as its line break is read (so an interactive reader is answered line by line), with
    /// <paramref name="tooLong"/>(line number) thrown once a line passes <paramref name="maxLineCharacters"/>, after
    /// reading at most that much of it (also `afm run --chat`'s standard input).
    /// </summary>
    public static IEnumerable<(int Line, string Text)> BoundedLines(TextReader reader, int maxLineCharacters, Func<int, Exception> tooLong)
    {
        var buffer = new char[BufferCharacters];
        var line = new StringBuilder();
        int lineNumber = 0, count, start;
        bool afterCarriageReturn = false;
        while ((count = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            start = 0;
            if (afterCarriageReturn && buffer[0] == '\n') start = 1; // the \n of a \r\n split across two reads
            afterCarriageReturn = false;
            for (int i = start; i < count; i++)
            {
                char c = buffer[i];
                if (c != '\n' && c != '\r') continue;
                Append(line, buffer, start, i - start, lineNumber + 1, maxLineCharacters, tooLong);
                yield return (++lineNumber, line.ToString());
                line.Clear();
                if (c == '\r')
                {
                    if (i + 1 < count) { if (buffer[i + 1] == '\n') i++; }
                    else afterCarriageReturn = true;
                }
                start = i + 1;
            }
            Append(line, buffer, start, count - start, lineNumber + 1, maxLineCharacters, tooLong);
        }
        if (line.Length > 0) yield return (++lineNumber, line.ToString());
    }

    private static void Append(StringBuilder line, char[] buffer, int start, int length, int lineNumber, int maxLineCharacters, Func<int, Exception> tooLong)
    {
        if (line.Length + length > maxLineCharacters) throw tooLong(lineNumber);
        line.Append(buffer, start, length);
    }

    private static DiagnosticException TooLong(string file, int lineNumber, int maxLineCharacters) =>
        new(new Diagnostic(DiagnosticSeverity.Error, LineTooLong,
            $"Line {lineNumber} is longer than {maxLineCharacters:N0} characters, the limit of a line of a JSON-lines file (one record a line): " +
            "is the file JSON lines, and are its records separated by line breaks? Split the record, or shorten it.",
            new SourceLocation(file, lineNumber, 1)));
}
