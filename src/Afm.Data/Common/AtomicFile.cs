namespace Afm.Data.Common;

/// <summary>
/// Writes a file under a temporary name and renames it into place, so a killed build never leaves a
/// half-written file under the final name (the pipeline's "atomic" rule).
/// </summary>
internal static class AtomicFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            stream.Write(bytes);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Runs <paramref name="write"/> on a stream for a temporary file, then renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            write(stream);
        File.Move(temp, path, overwrite: true);
    }
}
