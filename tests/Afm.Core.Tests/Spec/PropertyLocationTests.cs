using Afm.Core.Diagnostics;
using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>A property is reported at the definition MSBuild used, wherever that is (the SDK tests check it with real MSBuild).</summary>
public sealed class PropertyLocationTests
{
    private static SpecResult ReadWith(TestProject project, string property, string value, bool fromCommandLine = false)
    {
        var snapshot = project.Snapshot();
        snapshot.Properties[property] = value;
        return ProjectSpecReader.Read(fromCommandLine ? snapshot with { CommandLineProperties = [property] } : snapshot);
    }

    [Fact]
    public void A_property_only_in_Directory_Build_props_is_located_there()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "");
        var props = project.WriteFile("Directory.Build.props", "<Project>\n  <PropertyGroup>\n    <Layers>-2</Layers>\n  </PropertyGroup>\n</Project>\n");
        DiagnosticAssert.SingleError(ReadWith(project, "Layers", "-2"), "AFM1003", TestProject.LocateIn(props, File.ReadAllText(props), "<Layers>"));
    }

    [Fact]
    public void The_project_overrides_Directory_Build_props()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>-2</Layers>");
        project.WriteFile("Directory.Build.props", "<Project>\n  <PropertyGroup>\n    <Layers>4</Layers>\n  </PropertyGroup>\n</Project>\n");
        DiagnosticAssert.SingleError(ReadWith(project, "Layers", "-2"), "AFM1003", project.Locate("<Layers>"));
    }

    [Fact]
    public void A_later_definition_whose_value_MSBuild_did_not_use_is_passed_over()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>-2</Layers>\n    <Layers Condition=\"'$(X)' == 'y'\">3</Layers>");
        DiagnosticAssert.SingleError(ReadWith(project, "Layers", "-2"), "AFM1003", project.Locate("<Layers>"));
    }

    [Fact]
    public void A_definition_built_from_other_properties_is_trusted()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>-2</Layers>\n    <Layers>$(Depth)</Layers>");
        DiagnosticAssert.SingleError(ReadWith(project, "Layers", "-2"), "AFM1003", project.Locate("<Layers>", occurrence: 2));
    }

    [Fact]
    public void A_command_line_value_is_located_at_the_project_and_says_where_it_came_from()
    {
        using var project = new TestProject();
        var error = DiagnosticAssert.SingleError(ReadWith(project, "Layers", "-2", fromCommandLine: true), "AFM1003", SourceLocation.FileOnly(project.ProjectPath));
        Assert.StartsWith("Layers (set on the command line", error.Message);
    }
}
