using Afm.Core.IO;

namespace Afm.Data.Packing;

/// <summary>
/// The non-blank lines of a stage's Data files (sft examples, preference pairs) with their file and 1-based line, for
/// located diagnostics; a line longer than Afm.Core's <see cref="JsonLinesFile.MaxLineCharacters"/> is AFM2350 there.
/// </summary>
internal static class DataLines
{
    public static IEnumerable<(string File, int Line, string Text)> Of(IEnumerable<string> files)
    {
        foreach (var file in files)
            foreach (var (lineNumber, line) in JsonLinesFile.Lines(file))
                if (!string.IsNullOrWhiteSpace(line)) yield return (file, lineNumber, line);
    }
}
