using Afm.Core.Artifacts;
using Afm.Profiling.Profile;

namespace Afm.Packaging;

/// <summary>
/// The profile stage's files in the artifact: <c>profile/&lt;device&gt;/profile.json</c> (what bit allocation and
/// <c>afm profile</c> read) and the reports. Measured profiles (<c>host</c>) stay in obj: their numbers change from
/// run to run, and the artifact must be byte-identical for identical inputs.
/// </summary>
public static class ProfileEntries
{
    public static void Add(IDictionary<string, ArtifactEntry> entries, string profileDirectory, Afm.Core.Spec.ModelSpec spec)
    {
        if (ProfileStage.ReadIndex(profileDirectory) is not { } index) return;
        // Only the project's current devices: a folder of a device removed since stays in obj but not in the artifact.
        var declared = spec.Devices.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var device in index.Devices.Except(index.Measured, StringComparer.Ordinal).Where(declared.Contains))
        {
            var folder = Path.Combine(profileDirectory, device);
            entries[ArtifactLayout.DeviceProfile(device)] = ArtifactEntry.FromFile(Path.Combine(folder, StageLayout.Profile.Device.Profile));
            entries[ArtifactLayout.ProfileTable(device)] = ArtifactEntry.FromFile(Path.Combine(folder, StageLayout.Profile.Device.Table));
            entries[ArtifactLayout.ProfilePrefillChart(device)] = ArtifactEntry.FromFile(Path.Combine(folder, StageLayout.Profile.Device.PrefillChart));
            entries[ArtifactLayout.ProfileDecodeChart(device)] = ArtifactEntry.FromFile(Path.Combine(folder, StageLayout.Profile.Device.DecodeChart));
            entries[ArtifactLayout.ProfilePage(device)] = ArtifactEntry.FromFile(Path.Combine(folder, StageLayout.Profile.Device.Page));
        }
    }
}
