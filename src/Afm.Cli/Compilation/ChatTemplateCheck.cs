using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Tokenizers;

namespace Afm.Cli.Compilation;

/// <summary>
/// A chat template tried at build time with the renderer afm serve uses (ONNX Runtime GenAI, in its own process with
/// its limits) on a fixed three-turn conversation, so that a template that cannot render is said by the build, at the
/// project, rather than by a server that refuses to start (AFM7013) later.
/// </summary>
internal static class ChatTemplateCheck
{
    /// <summary>Why <paramref name="template"/> cannot render with <paramref name="tokenizer"/>'s bos/eos texts, or null when it renders.</summary>
    public static string? Problem(AfmTokenizer tokenizer, string template)
    {
        try
        {
            Afm.Serving.ChatTemplate.Checked(tokenizer, template).Dispose();
            return null;
        }
        catch (Afm.Serving.ChatTemplateException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// The project's AfmChatTemplate, checked by the package stage (the first with the tokenizer whose tokens the template
    /// writes): one that does not render is AFM1659 at the property and no artifact is written.
    /// </summary>
    public static void ProjectTemplate(ModelSpec spec, string tokenizerDirectory)
    {
        if (spec.ChatTemplate is not { } declared) return;
        var text = ChatTemplateSpec.TextOf(spec)!;
        if (Problem(AfmTokenizer.Load(tokenizerDirectory), text) is not { } problem) return;
        var name = Path.GetRelativePath(Path.GetDirectoryName(spec.ProjectPath)!, declared.Path).Replace('\\', '/');
        throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, ChatTemplateSpec.UnrenderableCode,
            $"AfmChatTemplate: {name} cannot render a three-turn conversation (user, assistant, user) with afm serve's renderer (ONNX Runtime GenAI): {problem}. " +
            "Fix the template (it must render as Hugging Face's renderer does), or remove AfmChatTemplate.",
            declared.Location ?? SourceLocation.FileOnly(spec.ProjectPath)));
    }
}
