using System.CommandLine;
using Afm.Cli.Commands;

namespace Afm.Cli;

public static class Program
{
    public const int UsageError = 2;

    public static int Main(string[] args)
    {
        // libtorch is prepared by the numeric stages themselves (TorchRuntime.UseThreads with the spec's threads and
        // determinism) before their first torch call: the kernel settings depend on the project, read after parsing.
        var root = new RootCommand("afm — the AfmToolchain model compiler. The Afm.Sdk build calls the stage commands; people call the others.")
        {
            ValidateCommand.Create(),
            TokenizerCommand.Create(),
            DataCommand.Create(),
            TrainCommand.Create(),
            ProfileCommand.Create(),
            QuantizeCommand.Create(),
            QuantizationBaselineCommand.Create(),
            AdaptersCommand.Create(),
            ExportCommand.Create(),
            ExportAdaptersCommand.Create(),
            Commands.Evaluate.EvaluateCommand.Create(),
            Commands.Evaluate.EvaluationBaselineCommand.Create(),
            Commands.Interchange.ExportGgufCommand.Create(),
            Commands.Interchange.ExportGenAICommand.Create(),
            ExportHuggingFaceCommand.Create(),
            PackageCommand.Create(),
            SampleDataCommand.Create(),
            Commands.Run.RunCommand.Create(),
            Commands.Serve.ServeCommand.Create(),
            Commands.Verify.VerifyCommand.Create(),
            Commands.Diff.DiffCommand.Create(),
        };
        var parsed = root.Parse(args);
        int exitCode = parsed.Invoke();
        // System.CommandLine ends a usage error (an unknown, missing or invalid option) with 1, the code of a
        // diagnostic; 2 is the usual code for usage errors and lets a caller tell the two apart.
        return parsed.Errors.Count > 0 ? UsageError : exitCode;
    }
}
