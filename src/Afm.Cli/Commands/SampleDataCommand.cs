using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Data.Samples;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm sample-data</c>: writes the deterministic synthetic corpora the samples build from (specs/sample-data.md),
/// so a sample needs no download. The committed sample data is this command's output.
/// </summary>
internal static class SampleDataCommand
{
    private const double MaxScale = 100;

    public static Command Create()
    {
        var output = StageOptions.Out("Folder to write the corpora and eval set into.");
        var seed = new Option<ulong>("--seed") { Description = "Generator seed.", DefaultValueFactory = _ => new SampleCorpusOptions().Seed };
        // 100 is 160 MB of sample text, more than any sample needs; the generator holds a corpus in memory, so 1e308 ran out of it.
        var scale = new Option<double>("--scale") { Description = "Size multiplier (1 = about 1.6 MB; at most 100).", DefaultValueFactory = _ => 1.0 }.Invariant().Within(0, MaxScale);
        var command = new Command("sample-data", "Generate the synthetic sample corpora.") { output, seed, scale };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var directory = result.GetValue(output)!;
            SampleCorpusGenerator.Generate(directory, new SampleCorpusOptions { Seed = result.GetValue(seed) }.Scaled(result.GetValue(scale)));
            CompilerOutput.Info($"sample data written to {directory}");
            return 0;
        }));
        return command;
    }
}
