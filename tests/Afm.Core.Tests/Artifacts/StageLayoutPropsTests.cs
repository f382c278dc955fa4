using System.Reflection;
using System.Text;
using Afm.Core.Artifacts;

namespace Afm.Core.Tests.Artifacts;

/// <summary>
/// The SDK's Afm.StageLayout.props is StageLayout written as MSBuild properties (the rule is in StageLayout's remarks),
/// so the targets and the compiler name every stage folder and file alike. Run with AFM_WRITE_STAGE_LAYOUT=1 to rewrite
/// the props file after changing StageLayout.
/// </summary>
public sealed class StageLayoutPropsTests
{
    private const string WriteVariable = "AFM_WRITE_STAGE_LAYOUT";

    [Fact]
    public void The_sdk_stage_layout_props_file_is_the_one_generated_from_StageLayout()
    {
        var path = PropsPath();
        var expected = Render();
        if (Environment.GetEnvironmentVariable(WriteVariable) == "1") File.WriteAllText(path, expected, new UTF8Encoding(false));
        Assert.True(File.Exists(path) && File.ReadAllText(path) == expected,
            $"{path} differs from StageLayout; run this test with {WriteVariable}=1 to regenerate it.");
    }

    [Fact]
    public void Every_stage_with_a_folder_names_the_folder_after_its_verb()
    {
        foreach (var stage in Stages())
            if (Constant(stage, "Folder") is { } folder && Constant(stage, "Name") is { } name)
                Assert.Equal(name + "/", folder);
    }

    [Fact]
    public void No_two_properties_of_the_generated_file_share_a_name()
    {
        var names = Properties().Select(p => p.Name).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    private static IEnumerable<Type> Stages() => typeof(StageLayout).GetNestedTypes().Where(t => t != typeof(StageLayout.Intermediate));

    private static string? Constant(Type type, string name) =>
        type.GetField(name, BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field ? (string)field.GetRawConstantValue()! : null;

    private static IEnumerable<FieldInfo> Files(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && f.Name is not ("Name" or "Folder") && !f.Name.EndsWith("Suffix", StringComparison.Ordinal))
            .OrderBy(f => f.MetadataToken);

    /// <summary>In order: the intermediate folder's own files, then per stage its folder, files and fingerprint.</summary>
    private static IEnumerable<(string Name, string Value)> Properties()
    {
        foreach (var file in Files(typeof(StageLayout.Intermediate)))
            yield return ($"_Afm{file.Name}", $"$(AfmIntermediateDirectory){file.GetRawConstantValue()}");
        foreach (var stage in Stages().OrderBy(t => t.MetadataToken))
        {
            if (Constant(stage, "Folder") is { } folder)
            {
                var directory = $"_Afm{stage.Name}Directory";
                yield return (directory, "$(AfmIntermediateDirectory)" + folder.Replace('/', '\\'));
                foreach (var file in Files(stage))
                    yield return ($"_Afm{stage.Name}{file.Name}", $"$({directory}){((string)file.GetRawConstantValue()!).Replace('/', '\\')}");
                // A file of each subfolder (one per device, per adapter): its bare name, since the subfolder varies.
                foreach (var nested in stage.GetNestedTypes().OrderBy(t => t.MetadataToken))
                    foreach (var file in Files(nested))
                        yield return ($"_Afm{stage.Name}{nested.Name}{file.Name}", (string)file.GetRawConstantValue()!);
            }
            if (Constant(stage, "Name") is { } name)
                yield return ($"_Afm{stage.Name}Fingerprint", $"$(_AfmSpecDirectory){StageLayout.Spec.Fingerprint(name)}");
        }
    }

    private static string Render()
    {
        var text = new StringBuilder();
        text.Append("""
            <Project>
              <!--
                GENERATED from src/Afm.Core/Artifacts/StageLayout.cs by tests/Afm.Core.Tests/Artifacts/StageLayoutPropsTests.cs
                (AFM_WRITE_STAGE_LAYOUT=1 rewrites it; the test fails while the two differ). Do not edit by hand.
                Where each stage writes under $(AfmIntermediateDirectory): Afm.Stages.targets imports this once that folder is
                known, and its Inputs and Outputs name files only through these properties.
              -->
              <PropertyGroup>
                <MSBuildAllProjects>$(MSBuildAllProjects);$(MSBuildThisFileFullPath)</MSBuildAllProjects>

            """);
        foreach (var (name, value) in Properties())
            text.Append($"    <{name}>{value}</{name}>\n");
        text.Append("  </PropertyGroup>\n</Project>\n");
        return text.ToString().Replace("\r\n", "\n");
    }

    private static string PropsPath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "AfmToolchain.sln")))
                return Path.Combine(directory.FullName, "sdk", "Afm.Sdk", "Sdk", "Afm.StageLayout.props");
        throw new InvalidOperationException("The tests run outside the AfmToolchain repository.");
    }
}
