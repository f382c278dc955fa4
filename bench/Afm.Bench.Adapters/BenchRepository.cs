using System.Text.Json;

/// <summary>The repository a bench runs from, the Afm.Sdk version its global.json pins, and where benches cache what they
/// train (shared by the adapter, recovery and post-training benches).</summary>
internal static class BenchRepository
{
    public static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AfmToolchain.sln"))) return dir.FullName;
        throw new InvalidOperationException("Run from inside the AfmToolchain repository.");
    }

    public static string SdkVersion(string root)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "global.json")));
        return json.RootElement.GetProperty("msbuild-sdks").GetProperty("Afm.Sdk").GetString()!;
    }

    /// <summary>A bench's cache folder, <c>${XDG_CACHE_HOME:-~/.cache}/afm-bench-&lt;name&gt;</c>: models that take minutes to train outlive /tmp.</summary>
    public static string CacheFolder(string name)
    {
        string cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cacheHome, "afm-bench-" + name);
    }
}
