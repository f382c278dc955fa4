using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Afm.Build.Tasks;

/// <summary>
/// The shared plumbing of every stage task: run <c>dotnet exec afm.dll &lt;command&gt; @response-file</c>
/// out of process (TorchSharp and ONNX Runtime never load inside MSBuild), and turn the compiler's output
/// back into MSBuild events: canonical <c>path(line,col): error AFM1234: text</c> lines become errors and
/// warnings with file, line, column and code; <c>progress:</c> lines become messages people see at the
/// default verbosity; anything else is a normal-importance message.
/// Subclasses add only their command name and arguments.
/// </summary>
public abstract class AfmCompilerTask : ToolTask
{
    internal const string ProgressPrefix = "progress: ";

    /// <summary>Full path of the compiler's entry assembly (afm.dll).</summary>
    [Required] public string CompilerPath { get; set; } = "";

    /// <summary>The dotnet host that runs the compiler; defaults to the one running this build.</summary>
    public string? DotnetHostPath { get; set; }

    /// <summary>The compiler command for this stage (validate, tokenizer, data, train, package).</summary>
    protected abstract string Command { get; }

    /// <summary>Adds this stage's arguments, one option per line.</summary>
    protected abstract void AddArguments(ResponseFileBuilder arguments);

    protected override string ToolName => "dotnet";

    // Progress and diagnostics come on stdout; keep stderr loud because it only carries internal errors.
    protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.Normal;
    protected override MessageImportance StandardErrorLoggingImportance => MessageImportance.High;

    protected override string GenerateFullPathToTool()
    {
        if (!string.IsNullOrEmpty(DotnetHostPath)) return DotnetHostPath!;
        // The dotnet CLI sets this for MSBuild so that tasks start the same host that runs the build.
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return string.IsNullOrEmpty(host) ? ToolName : host!;
    }

    protected override string GenerateCommandLineCommands() =>
        $"exec {ResponseFileBuilder.Quote(CompilerPath)} {Command}";

    protected override string GenerateResponseFileCommands()
    {
        var arguments = new ResponseFileBuilder();
        AddArguments(arguments);
        return arguments.ToString();
    }

    protected override bool ValidateParameters()
    {
        if (!File.Exists(CompilerPath))
            Log.LogError(null, "AFM9002", null, null, 0, 0, 0, 0,
                $"The afm compiler was not found at '{CompilerPath}'. Build the toolchain (dotnet build src/Afm.Cli) or set AfmCompilerPath.");
        return !Log.HasLoggedErrors;
    }

    protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
    {
        if (singleLine.StartsWith(ProgressPrefix, StringComparison.Ordinal))
            Log.LogMessage(MessageImportance.High, singleLine.Substring(ProgressPrefix.Length));
        else
            // Recognises the canonical error format and logs errors/warnings with their location and code.
            Log.LogMessageFromText(singleLine, messageImportance);
    }

    /// <summary>Exposes the generated command line to tests without running the compiler.</summary>
    internal (string CommandLine, string ResponseFile) GetCommandsForTesting() =>
        (GenerateCommandLineCommands(), GenerateResponseFileCommands());
}

/// <summary>Response-file lines: <c>--name "value"</c>, one option per line, quoted for the compiler's parser.</summary>
public sealed class ResponseFileBuilder
{
    private readonly StringBuilder _text = new();

    public void Add(string option, string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        _text.Append(option).Append(' ').Append(Quote(value!)).Append('\n');
    }

    internal static string Quote(string value) => "\"" + value.Replace("\"", "\\\"") + "\"";

    public override string ToString() => _text.ToString();
}
