using System.CommandLine;
using Afm.Core.Artifacts;
using Afm.Cli.Compilation;
using Afm.Core.IO;
using Afm.Data.Packing;

namespace Afm.Cli.Commands;

/// <summary><c>afm data</c>: tokenize, split and pack the corpora into fixed-length sequences per training stage.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var tokenizer = StageOptions.Tokenizer();
        var output = StageOptions.Out("Data folder to (re)create.");
        var command = new Command(StageLayout.Data.Name, "Prepare packed training and validation data.") { spec, tokenizer, output };
        command.SetAction(result => CompilerRun.Guard(() =>
            Run(result.GetValue(spec)!, result.GetValue(tokenizer)!, result.GetValue(output)!)));
        return command;
    }

    private static int Run(string specPath, string tokenizerDirectory, string outputDirectory)
    {
        var spec = SpecFile.Load(specPath);
        CompilerOutput.Progress($"data: packing {spec.Corpora.Count} corpus/corpora for {spec.PackedStages.Count()} stage(s)");
        AtomicOutput.ReplaceDirectory(outputDirectory, temp => DataStage.Run(spec, tokenizerDirectory, temp, CompilerOutput.Info));
        CompilerOutput.Progress($"data: wrote {outputDirectory}");
        return 0;
    }
}
