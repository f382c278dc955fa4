namespace Afm.Runtime.Artifacts;

/// <summary>
/// The entry names an .afmpkg may hold: what the package stage writes, forward-slash relative paths of plain
/// segments. Anything else (`..`, `.`, empty segments, absolute or drive-rooted names, backslashes, control
/// characters, segments longer than a file name can be (255 bytes), segments ending in a dot or space, which Windows
/// strips so that two names become one file) could land outside the extraction folder or mean different files on
/// different systems, so the reader refuses it instead of skipping it.
/// </summary>
internal static class ArtifactEntryName
{
    public static bool IsPlainRelativePath(string name)
    {
        if (name.Length == 0 || name.Contains('\\') || name.Contains(':') || name.Any(char.IsControl)) return false;
        foreach (var segment in name.Split('/'))
            if (segment is "" or "." or ".." || segment.EndsWith('.') || segment.EndsWith(' ') || System.Text.Encoding.UTF8.GetByteCount(segment) > 255) return false;
        return true;
    }
}
