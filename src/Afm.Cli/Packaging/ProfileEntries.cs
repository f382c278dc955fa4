using System.Text.Json;
using Afm.Profiling.Profile;

namespace Afm.Cli.Packaging;

/// <summary>
/// The profile stage's files in the artifact: <c>profile/&lt;device&gt;/profile.json</c> (what bit allocation and
/// <c>afm profile</c> read) and the reports. Measured profiles (<c>host</c>) stay in obj: their numbers change from
/// run to run, and the artifact must be byte-identical for identical inputs.
/// </summary>
internal static class ProfileEntries
{
    public static void Add(IDictionary<string, byte[]> entries, string profileDirectory, Afm.Core.Spec.ModelSpec spec)
    {
        var indexPath = Path.Combine(profileDirectory, ProfileStage.IndexFile);
        if (!File.Exists(indexPath)) return;
        var index = JsonSerializer.Deserialize<ProfileIndex>(File.ReadAllText(indexPath), ProfileDocument.JsonOptions)!;
        // Only the project's current devices: a folder of a device removed since stays in obj but not in the artifact.
        var declared = spec.Devices.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var device in index.Devices.Except(index.Measured, StringComparer.Ordinal).Where(declared.Contains))
        {
            var folder = Path.Combine(profileDirectory, device);
            entries[$"{ProfileSource.ArtifactFolder}{device}/{ProfileDocument.FileName}"] = File.ReadAllBytes(Path.Combine(folder, ProfileDocument.FileName));
            entries[$"reports/profile-{device}.md"] = File.ReadAllBytes(Path.Combine(folder, "profile.md"));
            entries[$"reports/profile-{device}-prefill.png"] = File.ReadAllBytes(Path.Combine(folder, "profile-prefill.png"));
            entries[$"reports/profile-{device}-decode.png"] = File.ReadAllBytes(Path.Combine(folder, "profile-decode.png"));
            entries[$"reports/profile-{device}.html"] = File.ReadAllBytes(Path.Combine(folder, "profile.html"));
        }
    }
}
