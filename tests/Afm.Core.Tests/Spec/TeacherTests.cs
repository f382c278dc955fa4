using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

public sealed class TeacherTests
{
    private const string Anchor = "<EvalSet Include=\"data/eval/*.txt\" />";

    private static TestProject WithTeacher(string teacher)
    {
        var project = TestProject.With(Anchor, Anchor + "\n    " + teacher);
        project.WriteFile("teacher/teacher.afmproj", "<Project Sdk=\"Afm.Sdk\" />");
        return project;
    }

    [Fact]
    public void A_teacher_takes_weight_0_9_and_no_pruning_and_is_no_longer_AFM1501()
    {
        using var project = WithTeacher("<Teacher Include=\"teacher/teacher.afmproj\" />");
        var result = project.Read();
        Assert.DoesNotContain(result.Diagnostics, d => d.Code is "AFM1501" or "AFM1006");
        var teacher = result.Spec!.Teacher!;
        Assert.Equal((Path.Combine(project.Directory, "teacher", "teacher.afmproj"), 0.9, TeacherInit.None),
            (teacher.ProjectPath, teacher.Weight, teacher.Init));
    }

    [Fact]
    public void Weight_and_pruning_are_read()
    {
        using var project = WithTeacher("<Teacher Include=\"teacher/teacher.afmproj\" Weight=\"0.5\" Prune=\"ffn\" />");
        var teacher = project.Read().Spec!.Teacher!;
        Assert.Equal((0.5, TeacherInit.PruneFfn), (teacher.Weight, teacher.Init));
    }

    [Fact]
    public void The_teachers_top1_is_distilled_by_default_and_its_tempered_distribution_on_request()
    {
        using (var plain = WithTeacher("<Teacher Include=\"teacher/teacher.afmproj\" />"))
            Assert.Equal((DistillTarget.Top1, 1.0), (plain.Read().Spec!.Teacher!.Distill, plain.Read().Spec!.Teacher!.Temperature));
        using var project = WithTeacher("<Teacher Include=\"teacher/teacher.afmproj\" Distill=\"distribution\" Temperature=\"2.5\" />");
        var result = project.Read();
        Assert.DoesNotContain(result.Diagnostics, d => d.Code == "AFM1006");
        Assert.Equal((DistillTarget.Distribution, 2.5), (result.Spec!.Teacher!.Distill, result.Spec.Teacher.Temperature));
    }

    [Fact]
    public void An_unknown_Distill_keyword_is_AFM1425_at_the_attribute()
    {
        using var project = WithTeacher("<Teacher Include=\"teacher/teacher.afmproj\" Distill=\"logits\" />");
        var error = Assert.Single(project.Read().Diagnostics, d => d.IsError);
        Assert.Equal(("AFM1425", project.Locate("Distill=")), (error.Code, error.Location));
    }

    [Fact]
    public void A_temperature_on_top1_targets_is_AFM1426_at_the_attribute()
    {
        using var project = WithTeacher("<Teacher Include=\"teacher/teacher.afmproj\" Temperature=\"2\" />");
        var error = Assert.Single(project.Read().Diagnostics, d => d.IsError);
        Assert.Equal(("AFM1426", project.Locate("Temperature=")), (error.Code, error.Location));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    public void A_temperature_that_is_not_positive_is_AFM1003(string temperature)
    {
        using var project = WithTeacher($"<Teacher Include=\"teacher/teacher.afmproj\" Distill=\"distribution\" Temperature=\"{temperature}\" />");
        var error = Assert.Single(project.Read().Diagnostics, d => d.IsError);
        Assert.Equal(("AFM1003", project.Locate("Temperature=")), (error.Code, error.Location));
    }

    [Fact]
    public void A_project_without_a_teacher_has_none()
    {
        using var project = new TestProject();
        Assert.Null(project.Read().Spec!.Teacher);
    }

    [Fact]
    public void A_missing_teacher_project_is_AFM1420_at_its_Include()
    {
        using var project = WithTeacher("<Teacher Include=\"teacher/missing.afmproj\" />");
        var error = Assert.Single(project.Read().Diagnostics, d => d.IsError);
        Assert.Equal(("AFM1420", project.Locate("Include=\"teacher/missing")), (error.Code, error.Location));
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("-0.1")]
    public void A_weight_outside_0_to_1_is_AFM1003_at_the_attribute(string weight)
    {
        using var project = WithTeacher($"<Teacher Include=\"teacher/teacher.afmproj\" Weight=\"{weight}\" />");
        var error = Assert.Single(project.Read().Diagnostics, d => d.IsError);
        Assert.Equal(("AFM1003", project.Locate("Weight=")), (error.Code, error.Location));
    }

    [Fact]
    public void An_unknown_prune_keyword_is_AFM1423()
    {
        using var project = WithTeacher("<Teacher Include=\"teacher/teacher.afmproj\" Prune=\"attention\" />");
        var error = Assert.Single(project.Read().Diagnostics, d => d.IsError);
        Assert.Equal(("AFM1423", project.Locate("Prune=")), (error.Code, error.Location));
    }

    [Fact]
    public void Two_teachers_are_AFM1421_at_the_second()
    {
        using var project = WithTeacher("<Teacher Include=\"teacher/teacher.afmproj\" />\n    <Teacher Include=\"teacher/teacher.afmproj\" Weight=\"0.5\" />");
        var error = Assert.Single(project.Read().Diagnostics, d => d.IsError);
        Assert.Equal(("AFM1421", project.Locate("<Teacher", 2)), (error.Code, error.Location));
    }

    [Fact]
    public void A_teacher_that_is_not_a_project_is_AFM1424()
    {
        using var project = WithTeacher("<Teacher Include=\"teacher/model.afmpkg\" />");
        var error = Assert.Single(project.Read().Diagnostics, d => d.IsError);
        Assert.Equal("AFM1424", error.Code);
    }

    [Fact]
    public void The_project_itself_as_teacher_is_AFM1422()
    {
        using var project = WithTeacher("<Teacher Include=\"tiny.afmproj\" />");
        var error = Assert.Single(project.Read().Diagnostics, d => d.IsError);
        Assert.Equal("AFM1422", error.Code);
    }
}
