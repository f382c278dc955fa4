using System.Xml.Linq;

namespace Afm.Runtime.Tests;

/// <summary>
/// Dependencies point inward (issue #21): the device runtime loads a tokenizer from Afm.Tokenizers and never pulls in
/// the data pipeline. Read from the csproj files themselves, so a new reference anywhere on the path is caught.
/// </summary>
public sealed class ProjectReferenceGraphTests
{
    [Fact]
    public void The_runtime_has_no_path_to_the_data_pipeline()
    {
        var reachable = Reachable(Path.Combine(SourceRoot(), "Afm.Runtime", "Afm.Runtime.csproj"));
        Assert.Contains("Afm.Tokenizers", reachable);
        Assert.DoesNotContain("Afm.Data", reachable);
    }

    /// <summary>Every project reachable from <paramref name="project"/> through ProjectReference items, by name.</summary>
    private static HashSet<string> Reachable(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var path))
        {
            if (!seen.Add(Path.GetFileNameWithoutExtension(path)))
                continue;
            foreach (var reference in XDocument.Load(path).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', Path.DirectorySeparatorChar);
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, include)));
            }
        }
        return seen;
    }

    private static string SourceRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AfmToolchain.sln")))
                return Path.Combine(directory.FullName, "src");
        }
        throw new InvalidOperationException("AfmToolchain.sln not found above " + AppContext.BaseDirectory);
    }
}
