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

    private ProcessResult Chat(string input, params string[] arguments) =>
        ProcessRunner.Run("dotnet", [RepositoryLayout.Compiler, "run", model.Package, "--chat", "--temperature", "0", .. arguments],
            model.Project.Directory, Patience, input: input);

    /// <summary>The prompt tokens of each turn, from its closing line of counts.</summary>
    private static List<int> PromptTokens(ProcessResult run) =>
        [.. System.Text.RegularExpressions.Regex.Matches(run.Output, @"\[micro: (\d+) prompt tokens").Select(m => int.Parse(m.Groups[1].Value))];

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

    /// <summary>A template of the content alone: the micro model's context is 32 tokens, too few for two turns of a transcript.</summary>
    private string Template(string name, string text)
    {
        var path = Path.Combine(model.Project.Directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Run_chat_answers_each_line_of_a_pipe_as_a_turn_of_one_conversation()
    {
        var template = Template("content.jinja", "{% for m in messages %}{{ m.content }}|{% endfor %}");
        var run = Chat("Hi\n\nOk\n", "--chat-template-file", template, "--max-tokens", "3");
        Assert.True(run.ExitCode == 0, run.ToString());
        var turns = PromptTokens(run);
        Assert.Equal(2, turns.Count); // the empty line is no turn
        Assert.True(turns[1] > turns[0] + 1, run.ToString()); // the second prompt holds the first turn and its answer
    }

    [Fact]
    public void Run_chat_without_a_template_prompts_with_the_transcript()
    {
        var run = Chat("Hi\n", "--max-tokens", "2");
        Assert.True(run.ExitCode == 0, run.ToString());
        // "User: Hi\nAssistant:" after the end-of-document token: more tokens than the two characters of the message.
        Assert.True(Assert.Single(PromptTokens(run)) > 4, run.ToString());
    }

    [Fact]
    public void Run_chat_answers_the_turns_before_a_line_over_the_limit_then_ends_with_AFM7015()
    {
        var run = Chat("Hi\n" + new string('a', (1 << 20) + 1) + "\nnever read\n", "--max-tokens", "2");
        Assert.Equal(1, run.ExitCode);
        Assert.Single(PromptTokens(run));
        Assert.Contains("error AFM7015: line 2 of standard input (one user turn) is longer than 1,048,576 characters", run.Output);
    }

    [Fact]
    public void Run_chat_renders_with_a_chat_template_and_a_refused_turn_is_AFM7014()
    {
        // Renders the start check's three messages and a second turn's three, refuses a third turn's five.
        var template = Template("three.jinja", "{% if messages|length > 3 %}{{ raise_exception('three messages at most') }}{% endif %}"
            + "{% for m in messages %}{{ m.content }}{% endfor %}");
        var run = Chat("a\nb\nc\n", "--chat-template-file", template, "--max-tokens", "2");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(2, PromptTokens(run).Count);
        Assert.Contains("error AFM7014: the chat template refused the conversation: ", run.Output);
        Assert.Contains("three messages at most", run.Output);
    }

    [Theory]
    [InlineData("--prompt", "Ada", "--chat")]
    [InlineData("--system", "x")]
    public void Run_needs_either_a_prompt_or_chat(params string[] arguments)
    {
        var run = Afm(["run", model.Package, .. arguments]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--chat", run.Output);
    }
}
