namespace Afm.Sdk.Tests.Infrastructure;

/// <summary>
/// End-to-end tests share one toolchain build and run one at a time: each `dotnet build` already uses both
/// cores, and the first one may build the compiler from source.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ToolchainCollection : ICollectionFixture<ToolchainFixture>
{
    public const string Name = "toolchain";
}

public sealed class ToolchainFixture
{
    public ToolchainFixture()
    {
        // Build the compiler once, up front, through the SDK's own target, so the first test's timing and
        // output are about the model build only.
        using var project = ModelProject.Create(MicroModel.Project());
        var result = project.Build("-t:AfmBuildToolchain");
        if (result.ExitCode != 0)
            throw new InvalidOperationException("Building the afm toolchain failed:\n" + result);
    }
}
