namespace Afm.Core.Spec;

/// <summary>
/// The project's chat template (<c>AfmChatTemplate</c>, specs/afmproj.md): a Jinja file the package stage puts into the
/// artifact as <c>tokenizer/chat_template.jinja</c>, where it overrides a checkpoint's <c>tokenizer_config.json</c>
/// template (Hugging Face's convention). Only the package stage carries it: it is no part of the tokenizer stage, whose
/// output every later stage takes as an input, so editing the template re-trains nothing.
/// </summary>
public sealed record ChatTemplateSpec
{
    /// <summary>The template file, absolute (the artifact's spec.json records it relative to the project).</summary>
    public required string Path { get; init; }
    public Diagnostics.SourceLocation? Location { get; init; }

    /// <summary>The text of <paramref name="spec"/>'s AfmChatTemplate, or null without one (validate has bounded the file:
    /// AFM1658); the package stage and the interchange exports write it beside the tokenizer.</summary>
    public static string? TextOf(ModelSpec spec) => spec.ChatTemplate is { } declared ? File.ReadAllText(declared.Path) : null;

    /// <summary>A template is code of a few kilobytes (Qwen3's is 4 KB); past this it is the wrong file.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>The file is missing, a folder, larger than <see cref="MaxBytes"/> or not UTF-8 (validate).</summary>
    public const string FileUnusableCode = "AFM1658";
    /// <summary>The template does not render a fixed three-turn conversation with afm serve's renderer (package).</summary>
    public const string UnrenderableCode = "AFM1659";
}
