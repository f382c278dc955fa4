using System.CommandLine;
using Afm.Cli.Commands;

namespace Afm.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // Before anything can touch libtorch: its OpenMP threads must sleep when idle (see Afm.Training.TorchRuntime).
        Afm.Training.TorchRuntime.PrepareProcess();
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
            PackageCommand.Create(),
            SampleDataCommand.Create(),
            Commands.Run.RunCommand.Create(),
            Commands.Serve.ServeCommand.Create(),
            Commands.Verify.VerifyCommand.Create(),
            Commands.Diff.DiffCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
