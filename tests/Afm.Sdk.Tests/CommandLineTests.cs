using System.Text.RegularExpressions;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// Every verb of the built `afm`, given missing, absent or nonsensical options: a usage error (exit code 2, naming the
/// option) or an AFM diagnostic (exit code 1), never an internal compiler error or a stack trace.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed partial class CommandLineTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("afm-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private ProcessResult Afm(params string[] arguments) => ProcessRunner.Dotnet(directory, [RepositoryLayout.Compiler, .. arguments]);

    [GeneratedRegex(@"^\s+at \S+\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();

    private static void AssertNoInternalError(ProcessResult result)
    {
        Assert.DoesNotContain("AFM9003", result.Output);
        Assert.DoesNotContain("Unhandled exception", result.Output);
        Assert.False(StackFrame().IsMatch(result.Output), result.ToString());
    }

    private static void AssertUsageError(ProcessResult result, string mentions)
    {
        AssertNoInternalError(result);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(mentions, result.Output);
    }

    private static void AssertDiagnostic(ProcessResult result, string code)
    {
        AssertNoInternalError(result);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"error {code}: ", result.Output);
    }

    [Fact]
    public void Profile_stage_mode_without_out_is_a_usage_error() =>
        AssertUsageError(Afm("profile", "--spec", Write("spec.json", "{}")), "--out is required with --spec");

    [Theory]
    [InlineData("validate", "--snapshot")]
    [InlineData("tokenizer", "--spec")]
    [InlineData("data", "--tokenizer")]
    [InlineData("train", "--data")]
    [InlineData("quantize", "--train")]
    [InlineData("quantization-baseline", "--report")]
    [InlineData("adapters", "--out")]
    [InlineData("export", "--spec")]
    [InlineData("export-adapters", "--export")]
    [InlineData("evaluate", "--export")]
    [InlineData("evaluation-baseline", "--report")]
    [InlineData("package", "--out")]
    [InlineData("sample-data", "--out")]
    [InlineData("run", "--prompt")]
    [InlineData("serve", "artifact")]
    public void A_verb_without_its_required_options_is_a_usage_error(string verb, string option) =>
        AssertUsageError(Afm(verb), option);

    [Fact]
    public void No_verb_is_a_usage_error() => AssertUsageError(Afm(), "Required command was not provided");

    [Theory]
    [InlineData("--spec", "there is no file 'missing.json'", "tokenizer", "--spec", "missing.json", "--out", "tok")]
    [InlineData("--spec", "names a folder", "tokenizer", "--spec", ".", "--out", "tok")]
    [InlineData("--snapshot", "there is no file", "validate", "--snapshot", "missing.json", "--out", "spec")]
    [InlineData("--tokenizer", "there is no folder", "data", "--spec", "SPEC", "--tokenizer", "missing", "--out", "data")]
    [InlineData("--train", "there is no folder", "export", "--spec", "SPEC", "--train", "missing", "--out", "export")]
    [InlineData("--export", "there is no folder", "export-adapters", "--export", "missing", "--adapters", "a", "--out", "o")]
    [InlineData("--report", "there is no file", "quantization-baseline", "--report", "missing.json", "--baseline", "b.json")]
    [InlineData("--spec", "there is no file", "profile", "--spec", "missing.json", "--out", "profile")]
    public void An_input_that_does_not_exist_is_a_usage_error_naming_the_option(string option, string message, params string[] arguments)
    {
        var spec = Write("spec.json", "{}");
        var result = Afm([.. arguments.Select(a => a == "SPEC" ? spec : a)]);
        AssertUsageError(result, option);
        Assert.Contains(message, result.Output);
    }

    [Theory]
    [InlineData("tokenizer", "--spec", "not json", "--out", "tok")]
    [InlineData("tokenizer", "--spec", "{}", "--out", "tok")]
    [InlineData("profile", "--spec", "[1, 2]", "--out", "profile")]
    [InlineData("validate", "--snapshot", "not json", "--out", "spec")]
    public void A_json_input_that_is_not_what_the_option_needs_is_AFM8002(string verb, string option, string content, string outOption, string output)
    {
        var result = Afm(verb, option, Write("input.json", content), outOption, output);
        AssertDiagnostic(result, "AFM8002");
        Assert.Contains("input.json: error AFM8002", result.Output);
    }

    [Fact]
    public void A_folder_missing_the_file_a_stage_reads_is_AFM8001_naming_it()
    {
        Directory.CreateDirectory(Path.Combine(directory, "export"));
        var result = Afm("export-adapters", "--export", "export", "--adapters", "adapters", "--out", "out");
        AssertDiagnostic(result, "AFM8001");
        Assert.Contains("model.onnx", result.Output);
    }

    [Theory]
    [InlineData("--scale", "sample-data", "--out", "sd", "--scale", "NaN")]
    [InlineData("--scale", "sample-data", "--out", "sd", "--scale", "1e308")]
    [InlineData("--scale", "sample-data", "--out", "sd", "--scale", "-1")]
    [InlineData("--max-concurrent", "serve", "a.afmpkg", "--max-concurrent", "0")]
    [InlineData("--queue-limit", "serve", "a.afmpkg", "--queue-limit", "-1")]
    [InlineData("--max-batch-size", "serve", "a.afmpkg", "--max-batch-size", "0")]
    [InlineData("--max-request-bytes", "serve", "a.afmpkg", "--max-request-bytes", "0")]
    [InlineData("--threads", "serve", "a.afmpkg", "--threads", "-2")]
    [InlineData("--urls", "serve", "a.afmpkg", "--urls", " ; ")]
    [InlineData("--threads", "run", "a.afmpkg", "--prompt", "x", "--threads", "-2")]
    [InlineData("--seed", "run", "a.afmpkg", "--prompt", "x", "--seed", "random")]
    [InlineData("--bits-tolerance", "quantization-baseline", "--report", "SPEC", "--baseline", "b.json", "--bits-tolerance", "abc")]
    [InlineData("--perplexity-tolerance", "quantization-baseline", "--report", "SPEC", "--baseline", "b.json", "--perplexity-tolerance", "Infinity")]
    public void A_number_outside_its_range_is_a_usage_error_naming_the_option(string option, params string[] arguments)
    {
        var report = Write("report.json", "{}");
        AssertUsageError(Afm([.. arguments.Select(a => a == "SPEC" ? report : a)]), option);
    }

    [Theory]
    [InlineData("/dev/zero", "serve", "missing.afmpkg")]
    [InlineData("/dev/zero", "run", "missing.afmpkg", "--chat")]
    [InlineData("BIG", "serve", "missing.afmpkg")]
    public void A_chat_template_file_that_never_ends_or_is_huge_is_AFM7013_before_the_artifact_is_opened(string template, params string[] arguments)
    {
        if (template == "BIG")
        {
            template = Path.Combine(directory, "big.jinja");
            using var file = File.Create(template);
            file.SetLength(2L << 30); // sparse: 2 GiB
        }
        var result = Afm([.. arguments, "--chat-template-file", template]);
        AssertDiagnostic(result, "AFM7013");
        Assert.Contains("1 MiB", result.Output);
        Assert.DoesNotContain("AFM7001", result.Output);
    }

    [Fact]
    public void A_quantization_baseline_that_never_ends_is_AFM4203_not_read_to_the_end()
    {
        var report = Write("report.json", "{}");
        var result = Afm("quantization-baseline", "--report", report, "--baseline", "/dev/zero");
        AssertDiagnostic(result, "AFM4203");
    }

    [Theory]
    [InlineData("--temperature", "Infinity")]
    [InlineData("--temperature", "1e308")]
    [InlineData("--temperature", "NaN")]
    [InlineData("--temperature", "-0.5")]
    [InlineData("--top-p", "1.5")]
    [InlineData("--top-k", "-1")]
    [InlineData("--max-tokens", "0")]
    public void Run_refuses_a_sampling_value_out_of_range_before_opening_the_artifact(string option, string value)
    {
        // The artifact does not exist: the settings are checked first, so the answer is AFM7004, not AFM7001.
        var result = Afm("run", "missing.afmpkg", "--prompt", "x", option, value);
        AssertDiagnostic(result, "AFM7004");
        Assert.DoesNotContain("AFM7001", result.Output);
    }

    [Theory]
    [InlineData("--temperature", "0.8", "AFM7001")]
    [InlineData("--top-p", "0,5", "--top-p must be a number written with '.'")]
    public void Numbers_are_read_with_a_decimal_point_whatever_the_culture(string option, string value, string expected)
    {
        // Under de-DE System.CommandLine read "0.8" as 8 (AFM7004, and before the range check a run at temperature 8).
        var german = new Dictionary<string, string> { ["LANG"] = "de_DE.UTF-8", ["LC_ALL"] = "de_DE.UTF-8" };
        var result = ProcessRunner.Run("dotnet", [RepositoryLayout.Compiler, "run", "missing.afmpkg", "--prompt", "x", option, value], directory, null, german);
        AssertNoInternalError(result);
        Assert.Contains(expected, result.Output);
        Assert.DoesNotContain("AFM7004", result.Output);
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }
}
