using System.Net;
using System.Net.Sockets;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>The built `afm run` and `afm serve` on a real artifact, where the user meets them: their seeds and their failures.</summary>
[Collection(ToolchainCollection.Name)]
public sealed class ServeAndRunCommandTests(ServeAndRunCommandTests.BuiltModel model) : IClassFixture<ServeAndRunCommandTests.BuiltModel>
{
    /// <summary>One micro model built for the class: every test here only reads its artifact.</summary>
    public sealed class BuiltModel : IDisposable
    {
        public BuiltModel()
        {
            var build = Project.Build();
            if (build.ExitCode != 0) throw new InvalidOperationException("Building the micro model failed:\n" + build);
        }

        public ModelProject Project { get; } = ModelProject.Create(MicroModel.Project());
        public string Package => Project.PathOf("bin/Debug/micro.0.3.0.afmpkg");

        public void Dispose() => Project.Dispose();
    }

    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private ProcessResult Afm(params string[] arguments) =>
        ProcessRunner.Run("dotnet", [RepositoryLayout.Compiler, .. arguments], model.Project.Directory, Patience);

    /// <summary>The generated text: the output before the closing line of counts (which holds timings).</summary>
    private string Sample(params string[] seed)
    {
        var run = Afm(["run", model.Package, "--prompt", "Ada has a", "--max-tokens", "16", "--temperature", "1.5", .. seed]);
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Output[..run.Output.LastIndexOf("[micro", StringComparison.Ordinal)];
    }

    [Fact]
    public void Serve_on_a_port_in_use_is_one_AFM7101_line_and_exit_code_1()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)occupant.LocalEndpoint).Port}";

        var serve = Afm("serve", model.Package, "--urls", url);

        Assert.True(serve.ExitCode == 1, serve.ToString());
        var lines = serve.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("afm serve: error AFM7101: cannot listen on " + url, line);
    }

    [Fact]
    public void Run_without_a_seed_samples_afresh_each_time()
    {
        // 16 tokens at temperature 1.5: four equal samples would mean a fixed seed, not chance.
        var samples = Enumerable.Range(0, 4).Select(_ => Sample()).ToList();
        Assert.True(samples.Distinct().Count() > 1, string.Join("\n---\n", samples));
    }

    [Fact]
    public void Run_with_a_seed_repeats_its_sample()
    {
        Assert.Equal(Sample("--seed", "7"), Sample("--seed", "7"));
    }
}
