namespace Afm.Interchange.Tests;

/// <summary>Where the repository this assembly was built from lies, for the peers' own files under tests/peers.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Peer(string name) => Path.Combine(Root, "tests", "peers", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AfmToolchain.sln"))) return dir.FullName;
        throw new InvalidOperationException("AfmToolchain.sln not found above " + AppContext.BaseDirectory);
    }
}
