namespace Afm.Build.Tasks;

/// <summary>Writes a file under a temporary name and renames it, so a killed build never leaves half a file.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string content)
    {
        var temp = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
    }
}
