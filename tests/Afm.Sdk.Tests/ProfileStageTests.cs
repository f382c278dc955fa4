using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>A project with a DeviceProfile gets the profile stage in a real `dotnet build`, incrementally.</summary>
[Collection(ToolchainCollection.Name)]
public sealed class ProfileStageTests
{
    [Fact]
    public void A_device_profile_puts_its_cost_profile_in_the_artifact_and_a_second_build_is_up_to_date()
    {
        var items = MicroModel.Items + "\n    <DeviceProfile Include=\"phone-npu\" />\n";
        using var project = ModelProject.Create(MicroModel.Project(items: items));

        var build = project.Build();
        var question = project.Build("-question");

        Assert.True(build.ExitCode == 0, build.ToString());
        var artifact = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg"));
        Assert.Contains("profile/phone-npu/profile.json", artifact.Entries.Keys);
        Assert.Equal(["validate", "tokenizer", "data", "train", "profile", "export", "package"], artifact.Manifest.Stages);
        using var profile = artifact.Json("profile/phone-npu/profile.json");
        Assert.Equal(System.Text.Json.JsonValueKind.Object, profile.RootElement.ValueKind);
        Assert.Contains(artifact.Entries.Keys, k => k.StartsWith("reports/profile-phone-npu", StringComparison.Ordinal));
        Assert.True(question.ExitCode == 0, question.ToString());
    }
}
