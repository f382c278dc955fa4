using System.Xml.Linq;

namespace Afm.Runtime.Tests;

/// <summary>
/// The device runtime is what a phone or `afm run` loads: its project graph (followed through every ProjectReference)
/// must not reach the web stack, which the HTTP server (Afm.Serving) brings, nor the data pipeline (its tokenizer is
/// Afm.Tokenizers), nor the compiler's training libraries (issue #21, "dependencies that point the right way"). Read from the csproj files themselves, so a reference added
/// anywhere in the closure fails here.
/// </summary>
public sealed class DependencyDirectionTests
{
    [Fact]
    public void The_device_runtime_does_not_reach_AspNet_the_data_pipeline_or_the_training_libraries()
    {
        var closure = ProjectClosure(Path.Combine(RepositoryRoot(), "src", "Afm.Runtime", "Afm.Runtime.csproj"));

        Assert.Contains("Afm.Runtime", closure.Keys);
        Assert.Contains("Afm.Onnx", closure.Keys); // the walk follows references (a broken walk would pass the rest)
        Assert.Contains("Afm.Tokenizers", closure.Keys);
        foreach (var forbidden in new[] { "Afm.Serving", "Afm.Data", "Afm.Training", "Afm.Compression", "Afm.Cli" })
            Assert.DoesNotContain(forbidden, closure.Keys);
        var web = closure.Where(p => p.Value.Descendants("FrameworkReference")
            .Any(r => ((string?)r.Attribute("Include"))?.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) == true));
        Assert.Empty(web.Select(p => p.Key));
    }

    [Fact]
    public void The_chat_template_renderer_ONNX_Runtime_GenAI_is_the_servers_not_the_device_runtimes()
    {
        static bool UsesGenAI(XDocument project) => project.Descendants("PackageReference")
            .Any(r => ((string?)r.Attribute("Include"))?.StartsWith("Microsoft.ML.OnnxRuntimeGenAI", StringComparison.Ordinal) == true);
        Assert.Empty(ProjectClosure(Path.Combine(RepositoryRoot(), "src", "Afm.Runtime", "Afm.Runtime.csproj")).Where(p => UsesGenAI(p.Value)).Select(p => p.Key));
        // The server's renderer process (Afm.ChatTemplateRenderer, a hostile template cannot hang or end the server).
        Assert.True(UsesGenAI(ProjectClosure(Path.Combine(RepositoryRoot(), "src", "Afm.Serving", "Afm.Serving.csproj"))["Afm.ChatTemplateRenderer"]));
    }

    [Fact]
    public void The_server_is_where_AspNet_is()
    {
        var closure = ProjectClosure(Path.Combine(RepositoryRoot(), "src", "Afm.Serving", "Afm.Serving.csproj"));
        Assert.Contains("Afm.Runtime", closure.Keys);
        Assert.Contains(closure["Afm.Serving"].Descendants("FrameworkReference"),
            r => (string?)r.Attribute("Include") == "Microsoft.AspNetCore.App");
    }

    /// <summary>Project name to its csproj, for the project and everything it references, directly or not.</summary>
    private static Dictionary<string, XDocument> ProjectClosure(string project)
    {
        var found = new Dictionary<string, XDocument>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var path))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (found.ContainsKey(name)) continue;
            var document = XDocument.Load(path);
            found[name] = document;
            foreach (var reference in document.Descendants("ProjectReference"))
            {
                var include = ((string?)reference.Attribute("Include"))!.Replace('\\', Path.DirectorySeparatorChar);
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, include)));
            }
        }
        return found;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "AfmToolchain.sln"))) return directory.FullName;
        throw new InvalidOperationException("AfmToolchain.sln not found above " + AppContext.BaseDirectory);
    }
}
