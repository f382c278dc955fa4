using System.Text;
using System.Text.Json;
using Afm.Core.IO;

namespace Afm.Tokenizers;

/// <summary>
/// The project's tokenizer folder (obj/.../afm/tokenizer/, and tokenizer/ in the artifact): GPT-2 style vocab.json and
/// merges.txt, which Microsoft.ML.Tokenizers loads, and last our manifest (<see cref="TokenizerManifest"/>). The one
/// writer and reader of that layout.
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

    /// <summary>Whether <paramref name="directory"/> holds a tokenizer trained here: its tokenizer.json is our manifest, not a Hugging Face file.</summary>
    public static bool IsTrainedHere(string directory)
    {
        var path = Path.Combine(directory, TokenizerManifest.FileName);
        if (!File.Exists(path) || new FileInfo(path).Length > 1 << 20)
            return false; // a manifest is a few hundred bytes; a Hugging Face tokenizer.json holds the whole vocabulary
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("formatVersion", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Loads the folder: our vocabulary and merges in Microsoft.ML.Tokenizers' byte-level BPE, split by the manifest's pattern.</summary>
    public static AfmTokenizer Read(string directory)
    {
        var manifestPath = Path.Combine(directory, TokenizerManifest.FileName);
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"No tokenizer in {directory}: {TokenizerManifest.FileName} is missing.", manifestPath);
        var manifest = JsonFiles.Read<TokenizerManifest>(manifestPath);
        if (manifest.FormatVersion != TokenizerManifest.CurrentFormatVersion)
            throw new InvalidDataException($"{manifestPath}: format version {manifest.FormatVersion} is not {TokenizerManifest.CurrentFormatVersion}.");
        // Reserved ids come after the special and byte tokens; a count reaching into them would mark learned ids unusable.
        if (manifest.ReservedCount < 0 || manifest.ReservedCount > manifest.VocabSize - manifest.FirstByteId - 256)
            throw new InvalidDataException($"{manifestPath}: reserved count {manifest.ReservedCount} does not fit a vocabulary of {manifest.VocabSize} with {manifest.FirstByteId} special tokens.");

        var vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(Path.Combine(directory, manifest.VocabFile)))
            ?? throw new InvalidDataException($"{manifest.VocabFile} in {directory} holds JSON null.");
        var merges = File.ReadLines(Path.Combine(directory, manifest.MergesFile)).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))
            .Select(l => l.Split(' ') is [var left, var right] ? (left, right) : throw new InvalidDataException($"{manifest.MergesFile} in {directory}: '{l}' is not a merge."))
            .ToList();
        var specials = manifest.SpecialTokens.Select((token, id) => new AddedToken(id, token, Special: true)).ToList();
        var model = new ByteLevelBpeModel(vocabulary, merges, [manifest.PreTokenizerPattern], nfc: false, ignoreMerges: false,
            specials.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal));
        var roles = new SpecialTokenRoles(manifest.EndOfDocumentId, manifest.EndOfDocumentId, Padding: manifest.EndOfDocumentId, Unknown: null, AddBeginOfSequence: true);
        return new AfmTokenizer(model, specials, roles, manifest, ChatTemplateFile.Read(directory, location: null), manifest.ReservedCount);
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
