using System.Text;
using System.Text.Json;
using Afm.Core.IO;

namespace Afm.Tokenizers;

/// <summary>
/// The project's tokenizer folder (obj/.../afm/tokenizer/, and tokenizer/ in the artifact): GPT-2 style vocab.json and
/// merges.txt, which Microsoft.ML.Tokenizers loads, and last our manifest (<see cref="TokenizerManifest"/>). The one
/// writer of that layout; <see cref="AfmTokenizer.Load"/> is its reader.
/// </summary>
public static class TokenizerFolder
{
    /// <summary>
    /// Writes the folder. <paramref name="spellings"/> holds the byte-level spelling of every id in id order,
    /// <paramref name="merges"/> the merges in the order learned. Same vocabulary, same bytes.
    /// </summary>
    public static void Write(string directory, TokenizerManifest manifest, IReadOnlyList<string> spellings,
        IEnumerable<(string Left, string Right)> merges)
    {
        if (spellings.Count != manifest.VocabSize)
            throw new ArgumentException($"{spellings.Count} spellings for a vocabulary of {manifest.VocabSize}.", nameof(spellings));
        Directory.CreateDirectory(directory);
        AtomicOutput.WriteFile(Path.Combine(directory, manifest.VocabFile), stream => WriteVocab(stream, spellings));
        AtomicOutput.WriteFile(Path.Combine(directory, manifest.MergesFile), stream => WriteMerges(stream, merges));
        // The manifest goes last: a directory with a manifest is complete.
        JsonFiles.Write(Path.Combine(directory, TokenizerManifest.FileName), manifest);
    }

    private static void WriteVocab(Stream stream, IReadOnlyList<string> spellings)
    {
        using var writer = new Utf8JsonWriter(stream, JsonFiles.WriterOptions);
        writer.WriteStartObject();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var id = 0; id < spellings.Count; id++)
        {
            if (!seen.Add(spellings[id]))
                throw new InvalidOperationException($"Special token '{spellings[id]}' collides with a byte-level token spelling.");
            writer.WriteNumber(spellings[id], id);
        }
        writer.WriteEndObject();
        writer.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void WriteMerges(Stream stream, IEnumerable<(string Left, string Right)> merges)
    {
        var text = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in merges)
            text.Append(left).Append(' ').Append(right).Append('\n');
        stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
    }
}
