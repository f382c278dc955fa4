using System.CommandLine;
using Afm.Core.Artifacts;
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
        var command = new Command(StageLayout.Tokenizer.Name, "Train the BPE tokenizer declared by the project's Tokenizer item.") { spec, output };
        command.SetAction(result => CompilerRun.Guard(() => Run(result.GetValue(spec)!, result.GetValue(output)!)));
        return command;
    }

    private static int Run(string specPath, string outputDirectory)
    {
        var spec = SpecFile.Load(specPath);
        if (spec.Tokenizer.Kind == Afm.Core.Spec.TokenizerSpec.BaseModelKind)
            return ImportBaseModelTokenizer(spec, outputDirectory);
        CompilerOutput.Progress($"tokenizer: training a {spec.Tokenizer.VocabSize}-token BPE on {spec.Corpora.Count} corpus/corpora");
        AtomicOutput.ReplaceDirectory(outputDirectory, temp => TokenizerStage.Run(spec, temp, CompilerOutput.Info));
        CompilerOutput.Progress($"tokenizer: wrote {outputDirectory}");
        return 0;
    }

    /// <summary>
    /// A BaseModel's tokenizer is its checkpoint's files (tokenizer.json, tokenizer_config.json, tokenizer.model), copied
    /// as they are once Afm.Tokenizers has loaded them (every problem located at the BaseModel); the data stage and the
    /// runtime load the folder as they load a trained one.
    /// </summary>
    private static int ImportBaseModelTokenizer(Afm.Core.Spec.ModelSpec spec, string outputDirectory)
    {
        var baseModel = spec.BaseModel!;
        var location = baseModel.Location ?? Afm.Core.Diagnostics.SourceLocation.FileOnly(spec.ProjectPath);
        var tokenizer = Afm.Tokenizers.AfmTokenizer.LoadHuggingFace(baseModel.Folder, location);
        // Ids past the embedding matrix would index nothing (config.json's vocab_size may exceed the tokenizer's, never the reverse).
        if (tokenizer.VocabSize > spec.Architecture.VocabSize)
            throw new Afm.Core.Diagnostics.DiagnosticException(new Afm.Core.Diagnostics.Diagnostic(Afm.Core.Diagnostics.DiagnosticSeverity.Error,
                Afm.Interchange.InterchangeCodes.TokenizerLargerThanEmbeddings,
                $"BaseModel: its tokenizer has {tokenizer.VocabSize} tokens, but config.json's vocab_size (the embedding rows) is {spec.Architecture.VocabSize}; the tokenizer and the weights are of different models.",
                location));
        CheckChatTemplate(tokenizer, location);
        AtomicOutput.ReplaceDirectory(outputDirectory, temp => Afm.Tokenizers.HuggingFaceTokenizerWriter.Write(tokenizer, temp));
        CompilerOutput.Progress($"tokenizer: BaseModel {baseModel.Architecture}'s {tokenizer.Kind} tokenizer ({tokenizer.VocabSize} tokens) -> {outputDirectory}");
        return 0;
    }

    /// <summary>
    /// A checkpoint's chat template is tried here, at build time, with the renderer afm serve uses (ONNX Runtime GenAI)
    /// on a fixed conversation: one it cannot render is a warning at the BaseModel (AFM1657) now, rather than a server
    /// that refuses to start (AFM7013) later. Completions do not need it, so the build goes on.
    /// </summary>
    private static void CheckChatTemplate(Afm.Tokenizers.AfmTokenizer tokenizer, Afm.Core.Diagnostics.SourceLocation location)
    {
        if (string.IsNullOrWhiteSpace(tokenizer.ChatTemplate)) return;
        if (ChatTemplateCheck.Problem(tokenizer, tokenizer.ChatTemplate) is { } problem)
            CompilerOutput.Report(new Afm.Core.Diagnostics.Diagnostic(Afm.Core.Diagnostics.DiagnosticSeverity.Warning, Afm.Tokenizers.TokenizerDiagnostics.ChatTemplateUnrenderable,
                $"BaseModel: its chat template (chat_template.jinja, else tokenizer_config.json's chat_template) cannot render a three-turn conversation with afm serve's renderer (ONNX Runtime GenAI): {problem}; chat requests need AfmChatTemplate or `afm serve --chat-template-file`.",
                location));
    }
}
