using System.Reflection;
using System.Text.RegularExpressions;
using Afm.Core.Spec.Reading;

namespace Afm.Core.Tests.Spec;

/// <summary>The documents under specs/ stay true: the example project is valid and every code is documented.</summary>
public sealed class SpecDocumentsTests
{
    private static string SpecsFile(string name)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "specs", name))) return Path.Combine(directory.FullName, "specs", name);
        throw new FileNotFoundException($"specs/{name} not found above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void The_example_in_afmproj_md_is_a_valid_project()
    {
        var markdown = File.ReadAllText(SpecsFile("afmproj.md"));
        var xml = Regex.Match(markdown, "```xml\n(?<xml><Project Sdk=\"Afm.Sdk\">.*?</Project>)\n```", RegexOptions.Singleline).Groups["xml"].Value;
        using var project = new TestProject(xml);
        project.WriteFile("data/chat/c.jsonl", "{\"content\":\"hi\"}\n");
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        Assert.Equal(["core", "continued", "context"], result.Spec!.TrainingStages.Select(s => s.Name));
    }

    [Fact]
    public void Every_diagnostic_code_is_documented_in_diagnostics_md()
    {
        var markdown = File.ReadAllText(SpecsFile("diagnostics.md"));
        var codes = typeof(DiagnosticCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetValue(null)!).ToList();
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.All(codes, code => Assert.Contains($"| {code} |", markdown));
    }
}
