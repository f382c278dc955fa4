using System.Text;

namespace Afm.Core.IO;

/// <summary>
/// Every stage output is written under a temporary name next to its final place and renamed when
/// complete, so a killed build never leaves a file or folder that a later build would take for finished.
/// </summary>
public static class AtomicOutput
{
    private static string TempName(string path) => $"{path}.tmp-{Environment.ProcessId}";

    public static void WriteFile(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = TempName(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                // On disk before the rename, so the final name never points at data a crash could still lose.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void WriteAllText(string path, string text) =>
        WriteFile(path, s => s.Write(new UTF8Encoding(false).GetBytes(text)));

    public static void WriteAllBytes(string path, byte[] bytes) => WriteFile(path, s => s.Write(bytes));

    /// <summary>
    /// Writes <paramref name="text"/> only when the file's content differs, keeping the timestamp of an
    /// unchanged file: such files are MSBuild inputs, and an untouched input keeps later stages up to date.
    /// </summary>
    public static bool WriteAllTextIfChanged(string path, string text)
    {
        if (File.Exists(path) && File.ReadAllText(path) == text) return false;
        WriteAllText(path, text);
        return true;
    }

    /// <summary>
    /// Produces a whole folder: <paramref name="fill"/> writes into a fresh temporary folder, which then
    /// replaces <paramref name="directory"/>. Between the delete and the rename there is no folder at all,
    /// which a later build reads as "not built", never as "built".
    /// </summary>
    public static void ReplaceDirectory(string directory, Action<string> fill)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var temp = TempName(full);
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        try
        {
            fill(temp);
            if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
            Directory.Move(temp, full);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }
}
