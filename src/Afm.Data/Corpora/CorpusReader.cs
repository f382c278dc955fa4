using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Data.Corpora;

/// <summary>
/// Reads the documents of a corpus or eval set, in a deterministic order: files in the spec's (ordinal) order,
/// records in file order. A text file is one document (none when it is blank); a JSON lines file is one document per non-blank line.
/// </summary>
public static class CorpusReader
{
    public static IEnumerable<Document> Read(CorpusSpec corpus) =>
        Read(corpus.Name, corpus.Files, corpus.Format, corpus.TextField, corpus.Location);

    public static IEnumerable<Document> Read(EvalSetSpec evalSet) =>
        Read(evalSet.Name, evalSet.Files, evalSet.Format, evalSet.TextField, evalSet.Location);

    private static IEnumerable<Document> Read(string name, IReadOnlyList<string> files, CorpusFormat format, string textField, SourceLocation? location)
    {
        var baseDirectory = CommonDirectory(files);
        var any = false;
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(baseDirectory, file).Replace('\\', '/');
            // Both readers skip a file of size 0 without opening it (a pipe would wait for a writer forever; validate refuses
            // the ones it can name): it holds no document.
            var documents = format == CorpusFormat.JsonLines
                ? ReadJsonLines(file, $"{name}/{relative}", textField)
                : ReadText(file, $"{name}/{relative}");
            foreach (var document in documents)
            {
                any = true;
                yield return document;
            }
        }
        if (!any)
        {
            throw DataDiagnostics.Error(DataDiagnostics.EmptyCorpus,
                $"Corpus '{name}' has no documents ({files.Count} file(s) matched). Check its Include pattern and that the files are not empty.",
                location ?? SourceLocation.FileOnly(files.Count > 0 ? files[0] : name));
        }
    }

    /// <summary>
    /// A text file is one document, unless it holds only white space: then it holds none, as a blank JSON line does,
    /// so a corpus of empty files is AFM2002 instead of a model trained on end-of-document tokens alone. A file larger
    /// than <see cref="TextDocumentFile.MaxDocumentBytes"/> is AFM2351 at the file.
    /// </summary>
    private static IEnumerable<Document> ReadText(string file, string id)
    {
        var text = TextDocumentFile.Read(file);
        return string.IsNullOrWhiteSpace(text) ? [] : [new Document(id, text)];
    }

    /// <summary>One document per non-blank line; a line longer than <see cref="JsonLinesFile.MaxLineCharacters"/> is AFM2350 at file(line).</summary>
    private static IEnumerable<Document> ReadJsonLines(string file, string idPrefix, string textField)
    {
        foreach (var (lineNumber, line) in JsonLinesFile.Lines(file))
            if (!string.IsNullOrWhiteSpace(line))
                yield return new Document($"{idPrefix}:{lineNumber}", ParseText(line, textField, file, lineNumber));
    }

    private static string ParseText(string line, string textField, string file, int lineNumber)
    {
        string? problem;
        try
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
                problem = "the line is not a JSON object";
            else if (!json.RootElement.TryGetProperty(textField, out var field))
                problem = $"the object has no \"{textField}\" field";
            else if (field.ValueKind != JsonValueKind.String)
                problem = $"the \"{textField}\" field is not a string";
            else
                return field.GetString()!;
        }
        catch (JsonException e)
        {
            problem = $"the line is not valid JSON ({e.Message})";
        }
        throw DataDiagnostics.Error(DataDiagnostics.BadJsonLine,
            $"Bad JSON lines record: {problem}. Each non-blank line must be an object with a string \"{textField}\" field (set TextField on the item to use another field).",
            new SourceLocation(file, lineNumber, 1));
    }

    // Ids are relative to the deepest folder holding all the files, so they do not depend on where the project lives.
    private static string CommonDirectory(IReadOnlyList<string> files)
    {
        if (files.Count == 0)
            return "";
        var common = Path.GetDirectoryName(Path.GetFullPath(files[0])) ?? "";
        foreach (var file in files.Skip(1))
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(file)) ?? "";
            while (!IsWithin(directory, common))
                common = Path.GetDirectoryName(common) ?? "";
        }
        return common;
    }

    private static bool IsWithin(string directory, string ancestor) =>
        directory == ancestor || directory.StartsWith(ancestor.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
