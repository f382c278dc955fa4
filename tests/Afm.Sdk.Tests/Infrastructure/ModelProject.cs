using System.Text;

namespace Afm.Sdk.Tests.Infrastructure;

/// <summary>
/// A real model project in a temporary folder: an .afmproj, a corpus, and the global.json + nuget.config
/// a user outside this repository would write to use the in-tree Afm.Sdk. Deleted on dispose.
/// </summary>
public sealed class ModelProject : IDisposable
{
    public string Directory { get; }
    public string ProjectPath { get; }

    private ModelProject(string directory, string projectName)
    {
        Directory = directory;
        ProjectPath = Path.Combine(directory, projectName + ".afmproj");
    }

    public static ModelProject Create(string projectXml, string projectName = "micro")
    {
        var directory = Path.Combine(Path.GetTempPath(), "afm-tests", $"{projectName}-{Guid.NewGuid():N}"[..24]);
        System.IO.Directory.CreateDirectory(directory);
        var project = new ModelProject(directory, projectName);
        project.WriteFile("global.json", $$"""
            {
              "sdk": { "version": "10.0.100", "rollForward": "latestMajor" },
              "msbuild-sdks": { "Afm.Sdk": "{{RepositoryLayout.SdkVersion}}" }
            }
            """);
        project.WriteFile("nuget.config", $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <fallbackPackageFolders>
                <add key="afm-sdk-source" value="{RepositoryLayout.LocalSdkFeed}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        project.WriteFile("data/corpus.jsonl", MicroCorpus.Jsonl(documents: 400, seed: 7));
        project.WriteFile("data/eval.jsonl", MicroCorpus.HeldOutJsonl(documents: 20, seed: 99));
        project.WriteProject(projectXml);
        return project;
    }

    public void WriteProject(string xml) => File.WriteAllText(ProjectPath, xml);

    public void WriteFile(string relativePath, string content)
    {
        var path = Path.Combine(Directory, relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content, new UTF8Encoding(false));
    }

    public string PathOf(string relativePath) => Path.Combine(Directory, relativePath);

    public ProcessResult Build(params string[] extraArguments) => BuildWith(null, extraArguments);

    /// <summary>A build whose processes (MSBuild and the compiler it starts) see these extra environment variables.</summary>
    public ProcessResult BuildWith(IReadOnlyDictionary<string, string>? environment, params string[] extraArguments) =>
        ProcessRunner.Run("dotnet", ["build", ProjectPath, "-nologo", "-v:n", "-tl:off", .. extraArguments], Directory, environment: environment);

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A tiny deterministic corpus with enough structure for a micro model to beat unigram statistics.</summary>
public static class MicroCorpus
{
    private static readonly string[] Names = ["Ada", "Bo", "Cy", "Di", "Ed", "Flo"];
    private static readonly string[] Things = ["apple", "kite", "book", "lamp", "boat"];
    private static readonly string[] Colors = ["red", "blue", "green", "gold"];

    public static string Jsonl(int documents, int seed) => Jsonl(documents, seed, Names, Things, Colors);

    /// <summary>
    /// The same template over names, things and colors the corpus never uses: every word 4-gram holds one of them,
    /// so the data stage's n-gram decontamination (4-13 words by default) finds no overlap with the corpus.
    /// </summary>
    public static string HeldOutJsonl(int documents, int seed) =>
        Jsonl(documents, seed, ["Gus", "Hal", "Ino"], ["cup", "drum", "sock"], ["pink", "teal", "gray"]);

    private static string Jsonl(int documents, int seed, string[] names, string[] things, string[] colors)
    {
        var text = new StringBuilder();
        uint state = (uint)seed * 2654435761u + 1;
        int Next(int n) { state = state * 1664525u + 1013904223u; return (int)((state >> 8) % (uint)n); }
        for (var i = 0; i < documents; i++)
        {
            var name = names[Next(names.Length)];
            var thing = things[Next(things.Length)];
            var color = colors[Next(colors.Length)];
            var a = Next(10); var b = Next(10);
            text.Append("{\"text\": \"")
                .Append($"{name} has a {color} {thing}. The {thing} of {name} is {color}. {a} + {b} = {a + b}.")
                .Append("\"}\n");
        }
        return text.ToString();
    }
}
