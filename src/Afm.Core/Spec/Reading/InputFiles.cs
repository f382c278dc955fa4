namespace Afm.Core.Spec.Reading;

/// <summary>
/// What the stages can read: an ordinary file the build's user may open. A folder, a device (<c>/dev/zero</c> reads
/// forever), a file of the kernel's virtual file systems (<c>/proc</c>, <c>/sys</c>) or an unreadable file is refused at
/// validate (AFM1306) instead of hanging or failing inside a stage.
/// </summary>
internal static class InputFiles
{
    // Virtual file systems: their files report a size of 0 or 4096 whatever they produce, and some never end.
    private static readonly string[] SystemFolders = ["/dev/", "/proc/", "/sys/"];

    /// <summary>Why <paramref name="path"/> cannot be read as an input file, or null when it can (or does not exist: the caller's case).</summary>
    public static string? Problem(string path)
    {
        if (Directory.Exists(path))
            return "is a folder, not a file: name the files in it with a wildcard, such as 'folder/*.txt'";
        if (!File.Exists(path)) return null;
        try
        {
            var real = Path.GetFullPath(File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path).Replace('\\', '/');
            if (SystemFolders.Any(f => real.StartsWith(f, StringComparison.Ordinal)))
                return $"is a device or system file ({real}), not a file of text: it may never end";
            // Pipes, sockets and devices elsewhere report a size of 0; they are never opened (opening a pipe waits for a
            // writer), and read as empty. Any other file is opened once here, so a permission problem is said now.
            if (new FileInfo(path).Length > 0)
                using (File.OpenHandle(path, FileMode.Open, FileAccess.Read)) { }
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return "cannot be read: permission denied";
        }
        catch (IOException e)
        {
            return $"cannot be read ({e.Message})";
        }
    }
}
