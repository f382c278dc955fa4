namespace Afm.Sdk.Tests.Infrastructure;

/// <summary>Finds the repository this test assembly was built from, so tests use the SDK in the tree.</summary>
public static class RepositoryLayout
{
    public static string Root { get; } = FindRoot();

    public static string LocalSdkFeed => Path.Combine(Root, "sdk", "local-feed");

    /// <summary>The <c>afm</c> compiler the SDK builds on first use (tests run it directly: `afm run`, `afm inspect` ...).</summary>
    public static string Compiler => Path.Combine(Root, "src", "Afm.Cli", "bin", "Release", "net10.0", "afm.dll");

    public static string SdkVersion { get; } = ReadSdkVersion();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AfmToolchain.sln")))
                return dir.FullName;
        throw new InvalidOperationException("AfmToolchain.sln not found above " + AppContext.BaseDirectory);
    }

    private static string ReadSdkVersion()
    {
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "global.json")));
        return json.RootElement.GetProperty("msbuild-sdks").GetProperty("Afm.Sdk").GetString()!;
    }
}
