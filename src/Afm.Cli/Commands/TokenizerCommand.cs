using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Core.IO;
using Afm.Data.Corpora;
using Afm.Data.Tokenization;

namespace Afm.Cli.Commands;

/// <summary><c>afm tokenizer</c>: train the project's BPE vocabulary on its corpora.</summary>
internal static class TokenizerCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var output = StageOptions.Out("Tokenizer folder to (re)create.");
        var command = new Command("tokenizer", "Train the BPE tokenizer declared by the project's Tokenizer item.") { spec, output };
        command.SetAction(result => CompilerRun.Guard(() => Run(result.GetValue(spec)!, result.GetValue(output)!)));
        return command;
    }

    private static int Run(string specPath, string outputDirectory)
    {
        var spec = SpecFile.Load(specPath);
        var tokenizer = spec.Tokenizer;
        var documents = spec.Corpora.SelectMany(CorpusReader.Read).Select(d => d.Text);
        var options = new BpeTrainingOptions(tokenizer.VocabSize, tokenizer.SplitDigits, tokenizer.ByteFallback, tokenizer.SpecialTokens);
        CompilerOutput.Progress($"tokenizer: training a {tokenizer.VocabSize}-token BPE on {spec.Corpora.Count} corpus/corpora");
        var vocabulary = BpeTrainer.Train(documents, options, CompilerOutput.Info);
        AtomicOutput.ReplaceDirectory(outputDirectory, vocabulary.Save);
        CompilerOutput.Progress($"tokenizer: wrote {outputDirectory}");
        return 0;
    }
}
