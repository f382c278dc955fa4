using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// A diagnostic points at the element or attribute that holds the value MSBuild used (specs/diagnostics.md), wherever
/// MSBuild took it from: an imported Directory.Build.props, the one of several definitions whose Condition held, an item
/// Update, or the command line.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class DiagnosticLocationTests
{
    private static int LineOf(string text, string snippet) =>
        Array.FindIndex(text.Split('\n'), l => l.Contains(snippet, StringComparison.Ordinal)) + 1;

    private static void AssertErrorAt(ProcessResult build, string file, int line, string code)
    {
        Assert.True(build.ExitCode == 1, build.ToString());
        Assert.Matches(new Regex($@"{Regex.Escape(file)}\({line},\d+\): error {code}: "), build.Output);
    }

    [Fact]
    public void A_property_set_in_Directory_Build_props_is_reported_there()
    {
        var props = "<Project>\n  <PropertyGroup>\n    <Layers>-2</Layers>\n  </PropertyGroup>\n</Project>\n";
        using var project = ModelProject.Create(MicroModel.Project().Replace("<Layers>2</Layers>", ""));
        project.WriteFile("Directory.Build.props", props);

        AssertErrorAt(project.Build("-t:AfmValidate"), "Directory.Build.props", 3, "AFM1003");
    }

    [Fact]
    public void A_property_is_reported_at_the_definition_MSBuild_used_not_at_a_later_one_under_a_false_condition()
    {
        var xml = MicroModel.Project().Replace("<Layers>2</Layers>",
            "<Layers>-2</Layers>\n    <Layers Condition=\"'$(Configuration)' == 'Never'\">2</Layers>");
        using var project = ModelProject.Create(xml);

        AssertErrorAt(project.Build("-t:AfmValidate"), "micro.afmproj", LineOf(xml, "<Layers>-2</Layers>"), "AFM1003");
    }

    [Fact]
    public void A_bad_value_from_an_item_Update_is_reported_at_the_Update()
    {
        var xml = MicroModel.Project(items: MicroModel.Items + "    <TrainingStage Update=\"core\" Warmup=\"soon\" />\n");
        using var project = ModelProject.Create(xml);

        AssertErrorAt(project.Build("-t:AfmValidate"), "micro.afmproj", LineOf(xml, "Update=\"core\""), "AFM1002");
    }

    [Fact]
    public void A_value_from_the_command_line_is_reported_without_a_line_and_says_so()
    {
        using var project = ModelProject.Create(MicroModel.Project());

        var build = project.Build("-t:AfmValidate", "-p:Layers=-2");

        Assert.True(build.ExitCode == 1, build.ToString());
        Assert.Matches(new Regex(@"micro\.afmproj\s*: error AFM1003: Layers \(set on the command line[^)]*\) is -2"), build.Output);
        Assert.DoesNotMatch(new Regex(@"micro\.afmproj\(\d+,\d+\): error AFM1003"), build.Output);
    }
}
