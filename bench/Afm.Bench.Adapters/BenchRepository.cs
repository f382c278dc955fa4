using System.Text.Json;

/// <summary>The repository a bench runs from, and the Afm.Sdk version its global.json pins (shared by the adapter benches).</summary>
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
}
