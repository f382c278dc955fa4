using System.Text;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads AfmChatTemplate: a Jinja file, resolved against the project's folder like every path in it. The file must be
/// there, an ordinary file, at most <see cref="ChatTemplateSpec.MaxBytes"/> and UTF-8 (AFM1658 at the property);
/// whether it renders is the package stage's check (AFM1659), which has the tokenizer the template writes tokens of.
/// </summary>
internal static class ChatTemplateReader
{
    public static ChatTemplateSpec? Read(SpecContext context)
    {
        if (context.Property("AfmChatTemplate") is not { } value) return null;
        var path = Path.GetFullPath(Path.Combine(context.ProjectDirectory, value.Text));
        var problem = InputFiles.Problem(path) ?? (File.Exists(path) ? TextProblem(path) : "does not exist");
        if (problem is null) return new ChatTemplateSpec { Path = path, Location = value.Location };
        context.Error(DiagnosticCodes.ChatTemplateFileUnusable, value.Location,
            $"{value.What} is '{value.Text}', which {problem}. Name a Jinja chat template file (such as chat_template.jinja), relative to the project.");
        return null;
    }

    private static string? TextProblem(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > ChatTemplateSpec.MaxBytes)
            return $"holds {length:N0} bytes; a chat template is at most {ChatTemplateSpec.MaxBytes:N0}";
        if (length == 0) return "is empty";
        try
        {
            new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path));
            return null;
        }
        catch (DecoderFallbackException)
        {
            return "is not UTF-8 text";
        }
    }
}
