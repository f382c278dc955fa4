using Afm.Core.Spec;

namespace Afm.Evaluation.Tests;

/// <summary>Task files written by a test into its own temporary folder.</summary>
internal sealed class TaskFiles : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "afm-evaluation-tests", Guid.NewGuid().ToString("N")[..12]);

    public TaskFiles() => System.IO.Directory.CreateDirectory(Directory);

    public string Write(string name, params string[] lines)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    public static EvalTaskSpec Task(EvalTaskKind kind, params string[] files) => new() { Name = "t", Kind = kind, Files = files };

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}
