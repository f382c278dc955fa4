using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>A micro student with a Teacher item: the teacher project is built first, through MSBuild, then distilled from.</summary>
[Collection(ToolchainCollection.Name)]
public sealed class DistillationBuildTests
{
    /// <summary>The micro model with a wider FFN, in teacher/, on the student's corpus (so both get the same tokenizer).</summary>
    private static string TeacherProject(string tokenizer = "<Tokenizer Include=\"bpe\" VocabSize=\"320\" />", string tokens = "24k") =>
        MicroModel.Project(
            properties: MicroModel.Properties.Replace("<ModelName>micro</ModelName>", "<ModelName>teacher</ModelName>")
                .Replace("<FfnDim>64</FfnDim>", "<FfnDim>128</FfnDim>"),
            items: MicroModel.Items.Replace("data/", "../data/").Replace("<Tokenizer Include=\"bpe\" VocabSize=\"320\" />", tokenizer)
                .Replace("Tokens=\"24k\"", $"Tokens=\"{tokens}\""));

    private static string Student(string teacher) =>
        MicroModel.Project(items: MicroModel.Items + "\n        " + teacher);

    private static ModelProject StudentWithTeacher(string teacherXml, string teacherItem = "<Teacher Include=\"teacher/teacher.afmproj\" Prune=\"ffn\" />")
    {
        var project = ModelProject.Create(Student(teacherItem));
        project.WriteFile("teacher/teacher.afmproj", teacherXml);
        return project;
    }

    [Fact]
    public void The_teacher_is_built_first_the_student_distills_from_it_and_a_second_build_runs_nothing()
    {
        using var project = StudentWithTeacher(TeacherProject());

        var build = project.Build();

        Assert.True(build.ExitCode == 0, build.ToString());
        var teacherWeights = project.PathOf("teacher/obj/Debug/afm/train/model.safetensors");
        var studentWeights = project.PathOf("obj/Debug/afm/train/model.safetensors");
        Assert.True(File.Exists(project.PathOf("teacher/bin/Debug/teacher.0.3.0.afmpkg")), "the teacher's own package");
        Assert.True(File.GetLastWriteTimeUtc(teacherWeights) < File.GetLastWriteTimeUtc(project.PathOf("obj/Debug/afm/data/index.json")),
            "the teacher finished training before the student's data stage ran");
        Assert.Contains("FFN hidden width pruned 128 -> 64", build.Output);
        Assert.True(File.Exists(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")));

        var again = project.Build();
        var question = project.Build("-question");

        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.DoesNotMatch(new Regex(@"^\s*(validate|tokenizer|data|train|package)[ :]", RegexOptions.Multiline), again.Output);
        Assert.True(question.ExitCode == 0, question.ToString());

        // A re-trained teacher re-trains the student (its weights are an input of the student's train stage).
        var before = File.GetLastWriteTimeUtc(studentWeights);
        project.WriteFile("teacher/teacher.afmproj", TeacherProject(tokens: "20k"));
        var retrain = project.Build();
        Assert.True(retrain.ExitCode == 0, retrain.ToString());
        Assert.True(File.GetLastWriteTimeUtc(studentWeights) > before, "the student was trained again");
    }

    [Fact]
    public void A_distribution_target_with_a_temperature_reaches_the_train_stage()
    {
        using var project = StudentWithTeacher(TeacherProject(),
            "<Teacher Include=\"teacher/teacher.afmproj\" Distill=\"distribution\" Temperature=\"2\" Weight=\"0.5\" />");

        var build = project.Build();

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("distilling towards the teacher's distribution at temperature 2 (weight 0.5)", build.Output);
        Assert.True(File.Exists(project.PathOf("bin/Debug/micro.0.3.0.afmpkg")));
    }

    [Fact]
    public void A_teacher_with_another_tokenizer_is_AFM3101_at_the_Teacher_element()
    {
        using var project = StudentWithTeacher(TeacherProject(tokenizer: "<Tokenizer Include=\"bpe\" VocabSize=\"300\" />"),
            "<Teacher Include=\"teacher/teacher.afmproj\" />");

        var build = project.Build();

        Assert.NotEqual(0, build.ExitCode);
        var line = File.ReadAllLines(project.ProjectPath).ToList().FindIndex(l => l.Contains("<Teacher", StringComparison.Ordinal)) + 1;
        Assert.Matches(new Regex($@"{Regex.Escape(project.ProjectPath)}\({line},\d+\): error AFM3101: .*vocabulary 300 vs 320"), build.Output);
    }

    [Fact]
    public void A_missing_teacher_project_is_AFM1420_at_its_line()
    {
        using var project = ModelProject.Create(Student("<Teacher Include=\"teacher/none.afmproj\" />"));

        var build = project.Build();

        Assert.NotEqual(0, build.ExitCode);
        var line = File.ReadAllLines(project.ProjectPath).ToList().FindIndex(l => l.Contains("<Teacher", StringComparison.Ordinal)) + 1;
        Assert.Matches(new Regex($@"{Regex.Escape(project.ProjectPath)}\({line},\d+\): error AFM1420"), build.Output);
        Assert.DoesNotContain("MSB", build.Output.Replace("MSBuild", ""));
    }
}
