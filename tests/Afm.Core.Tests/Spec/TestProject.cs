using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Core.Spec.Resources;

namespace Afm.Core.Tests.Spec;

/// <summary>
/// A tiny model project on disk: the .afmproj text, its data files, and the snapshot the SDK would write
/// for it. Expected locations are found by searching the project text, so tests read like the project.
/// </summary>
internal sealed class TestProject : IDisposable
{
    public const string ValidXml = """
        <Project Sdk="Afm.Sdk">
          <PropertyGroup>
            <ModelDim>256</ModelDim>
            <Layers>6</Layers>
            <Heads>8</Heads>
            <KvHeads>2</KvHeads>
          </PropertyGroup>
          <ItemGroup>
            <Tokenizer Include="bpe" VocabSize="4096" SpecialTokens="&lt;bos&gt;;&lt;eos&gt;" />
            <Corpus Include="data/web/*.txt" Name="web" />
            <Corpus Include="data/code/**/*.cs" Name="code" />
            <EvalSet Include="data/eval/*.txt" />
            <TrainingStage Include="core" Tokens="4M" SequenceLength="256" LearningRate="0.01" Mix="web=3;code=1" />
            <TrainingStage Include="context" Tokens="300k" SequenceLength="1024" RopeBase="6315089" />
          </ItemGroup>
        </Project>
        """;

    private static int _counter;

    public TestProject(string xml = ValidXml, string fileName = "tiny.afmproj")
    {
        Directory = Path.Combine(Path.GetTempPath(), "afm-core-tests", $"{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}");
        System.IO.Directory.CreateDirectory(Directory);
        ProjectPath = Path.Combine(Directory, fileName);
        Xml = xml;
        WriteFile("data/web/a.txt", new string('a', 300));
        WriteFile("data/web/b.txt", new string('b', 300));
        WriteFile("data/code/lib/x.cs", new string('c', 200));
        WriteFile("data/eval/e.txt", "held out");
    }

    public string Directory { get; }
    public string ProjectPath { get; }
    public string Xml { get; private set; }

    public static TestProject With(string find, string replace)
    {
        Assert.Contains(find, ValidXml);
        return new TestProject(ValidXml.Replace(find, replace));
    }

    public string WriteFile(string relativePath, string content)
    {
        var path = Path.Combine(Directory, relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>
    /// Read as on a machine like the build machines (24 GiB, 1 TiB free), never the test machine's own: a test that
    /// asks for 1.5G tokens failed when the disk had under 3 GB free. Resource checks use <see cref="ReadOn"/>.
    /// </summary>
    public SpecResult Read() => ReadOn(24L << 30, 1L << 40);

    /// <summary>Read as on a machine with this much memory and free disk, so resource checks do not depend on the test machine.</summary>
    public SpecResult ReadOn(long memoryBytes, long freeDiskBytes) => ProjectSpecReader.Read(Snapshot(), new MachineCapacity(memoryBytes, freeDiskBytes));

    public ProjectSnapshot Snapshot()
    {
        File.WriteAllText(ProjectPath, Xml);
        return FakeSdkEvaluation.Evaluate(ProjectPath);
    }

    /// <summary>Where the n-th occurrence of a snippet starts in the project text (1-based line and column).</summary>
    public SourceLocation Locate(string snippet, int occurrence = 1) => LocateIn(ProjectPath, Xml, snippet, occurrence);

    public static SourceLocation LocateIn(string path, string text, string snippet, int occurrence = 1)
    {
        var index = -1;
        for (var i = 0; i < occurrence; i++)
        {
            index = text.IndexOf(snippet, index + 1, StringComparison.Ordinal);
            Assert.True(index >= 0, $"'{snippet}' occurs fewer than {occurrence} times in the project");
        }
        var line = text[..index].Count(c => c == '\n') + 1;
        var column = index - (text.LastIndexOf('\n', Math.Max(0, index - 1)) + 1) + 1;
        if (index == 0) column = 1;
        return new SourceLocation(path, line, column);
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { /* a leftover temp dir is harmless */ }
    }
}
