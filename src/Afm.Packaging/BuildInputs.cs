using Afm.Core.Artifacts;
using Afm.Core.Spec;

namespace Afm.Packaging;

/// <summary>
/// Every file a build read, by role, with its size and SHA-256, paths relative to the project directory with forward
/// slashes (never absolute, so the record is the same in any checkout folder on any machine).
/// </summary>
public static class BuildInputs
{
    public sealed record Input(string Role, HashedFile File);

    public static IReadOnlyList<Input> Of(ModelSpec spec)
    {
        var roles = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Add(string role, IEnumerable<string> files)
        {
            foreach (var file in files) roles.TryAdd(file, role);
        }
        Add("project", [spec.ProjectPath]);
        foreach (var corpus in spec.Corpora) Add("corpus", corpus.Files);
        foreach (var evalSet in spec.EvalSets) Add("eval-set", evalSet.Files);
        foreach (var stage in spec.TrainingStages) Add("training-data", stage.Data);
        foreach (var adapter in spec.Adapters) Add("adapter-data", adapter.Data);
        if (spec.Teacher is { } teacher) Add("teacher-project", [teacher.ProjectPath]);
        if (spec.ChatTemplate is { } chatTemplate) Add("chat-template", [chatTemplate.Path]);
        if (spec.BaseModel is { } baseModel) Add("base-model", baseModel.Files.Select(f => Path.Combine(baseModel.Folder, f.Path)));
        var projectDirectory = Path.GetDirectoryName(spec.ProjectPath)!;
        return roles
            .Select(r => new Input(r.Value, new HashedFile(Relative(projectDirectory, r.Key), new FileInfo(r.Key).Length, Hashing.Sha256OfFile(r.Key))))
            .OrderBy(i => i.File.Path, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The manifest's <c>inputs</c>: the project, corpora and eval sets (its documented, unchanged list).</summary>
    public static List<HashedFile> ForManifest(IReadOnlyList<Input> inputs) =>
        inputs.Where(i => i.Role is "project" or "corpus" or "eval-set").Select(i => i.File).ToList();

    private static string Relative(string projectDirectory, string path) => Path.GetRelativePath(projectDirectory, path).Replace('\\', '/');
}
