using System.IO.Compression;
using Afm.Core.Diagnostics;

namespace Afm.Profiling.Profile;

/// <summary>
/// Finds the profile.json of a device for <c>afm profile</c>: in an artifact (<c>profile/&lt;device&gt;/profile.json</c>),
/// in a project's profile stage output (<c>obj/&lt;Configuration&gt;/afm/profile/</c>), in a profile folder, or a profile.json itself.
/// </summary>
public static class ProfileSource
{
    public const string ArtifactFolder = Afm.Core.Artifacts.ArtifactLayout.ProfileFolder;

    public static ProfileDocument Load(string path, string? device)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) && full.EndsWith(".afmpkg", StringComparison.OrdinalIgnoreCase)) return FromArtifact(full, device);
        if (File.Exists(full) && Path.GetFileName(full) == ProfileDocument.FileName) return ProfileDocument.Load(full);
        var folders = new List<string>();
        if (File.Exists(full) && full.EndsWith(".afmproj", StringComparison.OrdinalIgnoreCase))
        {
            var obj = Path.Combine(Path.GetDirectoryName(full)!, "obj");
            if (Directory.Exists(obj))
                folders.AddRange(Directory.GetDirectories(obj).Order(StringComparer.Ordinal).Select(c => Path.Combine(c, "afm", Afm.Core.Artifacts.StageLayout.Profile.Name)).Where(Directory.Exists));
        }
        else if (Directory.Exists(full)) folders.Add(full);
        else throw ProfileDiagnostics.Error(ProfileDiagnostics.NoProfile, $"'{path}' is not an .afmpkg, an .afmproj, a profile folder or a profile.json.");

        var available = folders.SelectMany(f => Directory.GetDirectories(f).Where(d => File.Exists(Path.Combine(d, ProfileDocument.FileName))))
            .ToList();
        var names = available.Select(Path.GetFileName).Distinct().Order(StringComparer.Ordinal).ToList();
        var chosen = Choose(names!, device, path);
        return ProfileDocument.Load(Path.Combine(available.First(d => Path.GetFileName(d) == chosen), ProfileDocument.FileName));
    }

    private static ProfileDocument FromArtifact(string artifact, string? device)
    {
        using var zip = ZipFile.OpenRead(artifact);
        var entries = zip.Entries.Where(e => e.FullName.StartsWith(ArtifactFolder, StringComparison.Ordinal) && e.Name == ProfileDocument.FileName).ToList();
        var names = entries.Select(e => e.FullName[ArtifactFolder.Length..^(ProfileDocument.FileName.Length + 1)]).ToList();
        var chosen = Choose(names, device, artifact);
        using var reader = new StreamReader(entries.First(e => e.FullName == $"{ArtifactFolder}{chosen}/{ProfileDocument.FileName}").Open());
        return ProfileDocument.FromJson(reader.ReadToEnd());
    }

    private static string Choose(IReadOnlyList<string> names, string? device, string where)
    {
        if (names.Count == 0)
            throw ProfileDiagnostics.Error(ProfileDiagnostics.NoProfile,
                $"'{where}' has no device profile. Declare <DeviceProfile Include=\"phone-npu\" /> in the project and build it.");
        if (device is null)
        {
            if (names.Count == 1) return names[0];
            throw ProfileDiagnostics.Error(ProfileDiagnostics.UnknownDeviceName, $"'{where}' has profiles for {string.Join(", ", names)}; choose one with --device.");
        }
        return names.FirstOrDefault(n => string.Equals(n, device, StringComparison.OrdinalIgnoreCase))
            ?? throw ProfileDiagnostics.Error(ProfileDiagnostics.UnknownDeviceName,
                $"--device '{device}' is not profiled in '{where}'; it has {string.Join(", ", names)}.");
    }
}
