namespace Afm.Core.Spec.Resources;

/// <summary>What the machine that builds the model has: memory and the free space where the stages write.</summary>
internal sealed record MachineCapacity(long MemoryBytes, long? FreeDiskBytes)
{
    /// <summary>
    /// The GC's view of total memory honours container limits (cgroups) where /proc/meminfo would not; free disk is
    /// that of the drive holding <paramref name="outputDirectory"/> (or of its nearest existing parent: obj/ does not
    /// exist before the first build), unknown when the path is not on a drive .NET can query.
    /// </summary>
    public static MachineCapacity Of(string outputDirectory) =>
        new(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, FreeDisk(outputDirectory));

    private static long? FreeDisk(string directory)
    {
        try
        {
            var existing = Path.GetFullPath(directory);
            while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
                existing = parent;
            return new DriveInfo(existing).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
