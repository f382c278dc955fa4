using System.Text;
using Afm.Core.Diagnostics;

namespace Afm.Tokenizers;

/// <summary>
/// <c>chat_template.jinja</c> beside a tokenizer's files: Hugging Face's own file for the chat template (transformers
/// saves it there and, reading a folder, takes it over <c>tokenizer_config.json</c>'s <c>chat_template</c>). The one
/// rule for every tokenizer folder: a checkpoint's (a BaseModel's) and the artifact's, where the package stage puts
/// the project's AfmChatTemplate.
/// </summary>
public static class ChatTemplateFile
{
    /// <summary>The template text of <paramref name="directory"/>'s file, or null when there is none.</summary>
    public static string? Read(string directory, SourceLocation? location)
    {
        var path = Path.Combine(directory, HuggingFaceFiles.ChatTemplateJinja);
        if (!File.Exists(path)) return null;
        var at = location ?? SourceLocation.FileOnly(path);
        var bytes = TokenizerFileInput.ReadBytes(path, at);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw TokenizerDiagnostics.Error(TokenizerDiagnostics.MalformedTokenizerFile, $"{path} is not UTF-8 text.", at);
        }
    }
}
