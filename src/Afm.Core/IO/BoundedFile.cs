using System.Text;
using System.Text.Json;

namespace Afm.Core.IO;

/// <summary>
/// A file a user names read whole, but never more than a bound: a larger file is found from its size before it is
/// read, and a pipe, a device that never ends (/dev/zero) or a file that grows is read no further than the bound plus
/// one byte. What the bound is, and which diagnostic says so, is the caller's (TextDocumentFile, the chat template of
/// `afm serve`, trusted certificates) but the toolchain's own JSON reports, read back as baselines, share one (<see cref="TryReadReport"/>).
/// </summary>
public static class BoundedFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>The file's bytes, or null when it holds more than <paramref name="maxBytes"/>.</summary>
    public static byte[]? TryReadAllBytes(string path, long maxBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (stream.CanSeek && stream.Length > maxBytes) return null;
        using var bytes = new MemoryStream(stream.CanSeek ? (int)stream.Length : 0);
        var chunk = new byte[1 << 16];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            if (bytes.Length + read > maxBytes) return null;
            bytes.Write(chunk, 0, read);
        }
        return bytes.Length == bytes.Capacity ? bytes.GetBuffer() : bytes.ToArray();
    }

    /// <summary>The file's text as File.ReadAllText decodes it (UTF-8, or the encoding of a byte order mark), or null when it holds more than <paramref name="maxBytes"/>.</summary>
    public static string? TryReadAllText(string path, long maxBytes)
    {
        if (TryReadAllBytes(path, maxBytes) is not { } bytes) return null;
        using var reader = new StreamReader(new MemoryStream(bytes), Utf8NoBom, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>The bound of a report the toolchain wrote and reads back (a committed baseline): a report is a few KB.</summary>
    public const long ReportMaxBytes = 64 << 20;

    /// <summary>
    /// The <typeparamref name="T"/> report in <paramref name="path"/>, or null when the file is not one: over
    /// <see cref="ReportMaxBytes"/> (/dev/zero named as the baseline is read no further), unreadable, or not its JSON.
    /// </summary>
    public static T? TryReadReport<T>(string path, JsonSerializerOptions options) where T : class
    {
        try { return TryReadAllBytes(path, ReportMaxBytes) is { } bytes ? JsonSerializer.Deserialize<T>(bytes, options) : null; }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or NotSupportedException) { return null; }
    }
}
