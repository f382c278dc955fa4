using System.Text;

namespace Afm.Data.Packing;

/// <summary>The non-blank lines of a stage's Data files (sft examples, preference pairs) with their file and 1-based line, for located diagnostics.</summary>
internal static class DataLines
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    public static IEnumerable<(string File, int Line, string Text)> Of(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            if (new FileInfo(file).Length == 0) continue; // as CorpusReader: an empty file, or a pipe that would never end
            using var reader = new StreamReader(file, Utf8NoBom);
            var lineNumber = 0;
            while (reader.ReadLine() is { } line)
            {
                lineNumber++;
                if (!string.IsNullOrWhiteSpace(line)) yield return (file, lineNumber, line);
            }
        }
    }
}
