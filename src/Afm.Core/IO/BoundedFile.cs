using System.Text;

namespace Afm.Core.IO;

/// <summary>
/// A file a user names read whole, but never more than a bound: a larger file is found from its size before it is
/// read, and a pipe, a device that never ends (/dev/zero) or a file that grows is read no further than the bound plus
/// one byte. What the bound is, and which diagnostic says so, is the caller's (TextDocumentFile, the chat template of
/// `afm serve`, trusted certificates, baseline reports).
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
}
