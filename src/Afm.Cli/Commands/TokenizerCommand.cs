using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Core.IO;
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
        if (spec.Tokenizer.Kind == Afm.Core.Spec.TokenizerSpec.BaseModelKind)
            // Never a stand-in: a vocabulary trained here would not match the base's embeddings.
            throw new Afm.Core.Diagnostics.DiagnosticException(new Afm.Core.Diagnostics.Diagnostic(Afm.Core.Diagnostics.DiagnosticSeverity.Error,
                Afm.Interchange.InterchangeCodes.BaseModelTokenizerNotAvailable,
                "BaseModel: this toolchain cannot load a checkpoint's tokenizer (tokenizer.json / tokenizer.model) yet, and the model's embeddings belong to that tokenizer. " +
                "The architecture and weights are imported; the tokenizer stage is not. Build without the BaseModel until the tokenizer import lands.",
                spec.BaseModel?.Location ?? Afm.Core.Diagnostics.SourceLocation.FileOnly(spec.ProjectPath)));
        CompilerOutput.Progress($"tokenizer: training a {spec.Tokenizer.VocabSize}-token BPE on {spec.Corpora.Count} corpus/corpora");
        AtomicOutput.ReplaceDirectory(outputDirectory, temp => TokenizerStage.Run(spec, temp, CompilerOutput.Info));
        CompilerOutput.Progress($"tokenizer: wrote {outputDirectory}");
        return 0;
    }
}
