using System.Diagnostics;
using System.Globalization;

namespace Afm.Runtime.Artifacts;

/// <summary>
/// The private temporary folder a verified artifact is extracted to: <c>afm-run-&lt;pid&gt;-&lt;start&gt;-&lt;id&gt;</c> under
/// the temp folder. A killed run cannot delete its folder, so every new one first removes the folders whose owner
/// is gone. Several runtimes share the temp folder, so a folder is removed only when no process with its pid runs,
/// or the process with that pid started at another time (the pid was reused); never by age.
/// </summary>
public static class ExtractionFolder
{
    public const string Prefix = "afm-run-";

    /// <summary>A process as the folder name records it: its id and start time, which together survive pid reuse.</summary>
    public sealed record Owner(int ProcessId, long StartedUnixMs)
    {
        public static Owner Of(Process process) => new(process.Id, new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds());

        public static Owner Current { get; } = Of(Process.GetCurrentProcess());

        public bool IsRunning()
        {
            try
            {
                using var process = Process.GetProcessById(ProcessId);
                // The start time is derived from clock ticks since boot; allow for rounding between two readers.
                return Math.Abs(Of(process).StartedUnixMs - StartedUnixMs) < 1000;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                return false; // no such process, or it exited while we looked
            }
        }
    }

    public static string NameFor(Owner owner, Guid id) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{owner.ProcessId}-{owner.StartedUnixMs}-{id:N}");

    /// <summary>A new empty folder owned by this process.</summary>
    public static string Create()
    {
        var path = Path.Combine(Path.GetTempPath(), NameFor(Owner.Current, Guid.NewGuid()));
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// Refuses (AFM7012) to extract files of these sizes when the temp folder's disk has less free: the sizes were
    /// checked against the zip, so this is what extraction would write, and failing half-way would be an I/O error.
    /// </summary>
    public static void EnsureRoom(string artifactPath, IEnumerable<long> sizes)
    {
        var bytes = Total(sizes);
        long free;
        try { free = new DriveInfo(Path.GetTempPath()).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { return; } // unknown: let the copy decide
        CheckRoom(artifactPath, bytes, free);
    }

    /// <summary>The sum, saturating at long.MaxValue: the sizes are what the zip declares, and a hostile header can make them overflow.</summary>
    internal static long Total(IEnumerable<long> sizes) =>
        sizes.Aggregate(0L, (sum, size) => sum > long.MaxValue - size ? long.MaxValue : sum + size);

    internal static void CheckRoom(string artifactPath, long bytes, long free)
    {
        if (bytes > free)
            throw RuntimeCodes.Error(RuntimeCodes.NoRoomToExtract, artifactPath,
                $"extracting the artifact needs {bytes:N0} bytes in '{Path.GetTempPath()}', whose disk has {free:N0} free; " +
                "free space there or point TMPDIR at a larger disk.");
    }

    /// <summary>Deletes the extraction folders of processes that are gone; folders of older formats (no owner) are left alone.</summary>
    public static void RemoveStale()
    {
        IEnumerable<string> folders;
        try { folders = Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*").ToList(); }
        catch (IOException) { return; }
        foreach (var folder in folders)
        {
            if (OwnerOf(Path.GetFileName(folder)) is not { } owner || owner.IsRunning()) continue;
            Delete(folder);
        }
    }

    public static void Delete(string folder)
    {
        // Another runtime may be removing the same stale folder, or a file may be in use: a leftover is harmless.
        try { Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static Owner? OwnerOf(string name)
    {
        var parts = name[Prefix.Length..].Split('-');
        return parts.Length == 3
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var started)
            ? new Owner(pid, started) : null;
    }
}
