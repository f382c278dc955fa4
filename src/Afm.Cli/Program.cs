using System.CommandLine;
using Afm.Cli.Commands;

namespace Afm.Cli;

public static class Program
{
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
            PackageCommand.Create(),
            SampleDataCommand.Create(),
            Commands.Run.RunCommand.Create(),
            Commands.Serve.ServeCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
