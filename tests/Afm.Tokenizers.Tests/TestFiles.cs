using System.Text;
using System.Text.Json.Nodes;

namespace Afm.Tokenizers.Tests;

/// <summary>A fresh directory under the system temp folder, deleted when the test ends.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "afm-tokenizers-tests", Guid.NewGuid().ToString("N"));

    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Write(string name, string text)
    {
        var path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    public string Write(string name, JsonNode json) => Write(name, json.ToJsonString());

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Texts that exercise what tokenizers get wrong: digits, emoji (surrogate pairs, ZWJ, flags), CJK, whitespace runs,
/// accents precomposed and combining, letters outside the BMP, controls.</summary>
public static class TestTexts
{
    public const string Mixed =
        "Hello world! It's 2026-12-02, 3.14159 and 1234567890 items; THEY'LL see.\n\tTabs\tand  double  spaces   end   \n\n\n" +
        "New paragraph 中文字符 日本語 한국어 emoji 🙂🚀👩‍👩‍👧 🇫🇷 café cafe\u0301 a\u0308\u0323 Ångström " +
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 x𝟙𝟚y the𝔘𝔫 ÿ þ \u00A0nbsp\u2003em\r\nwindows   \t \n trailing  ";

    /// <summary>Random valid text from a fixed seed: ASCII, whitespace, digits, marks, CJK, emoji, astral letters, anything.</summary>
    public static string Random(int seed, int length)
    {
        var random = new Random(seed);
        var builder = new StringBuilder();
        while (builder.Length < length)
        {
            var codePoint = random.Next(11) switch
            {
                0 or 1 or 2 => random.Next(0x20, 0x7F),
                3 => " \t\n\r  "[random.Next(6)],
                4 => random.Next(0x30, 0x3A),
                5 => random.Next(0x0300, 0x0370),
                6 => random.Next(0x4E00, 0x9FFF),
                7 => random.Next(0x1F300, 0x1FAFF),
                8 => random.Next(0x1D400, 0x1D7FF), // mathematical letters and digits: outside the BMP
                9 => random.Next(0xC0, 0x250),
                _ => random.Next(0x80, 0x10FFFF),
            };
            if (codePoint is >= 0xD800 and <= 0xDFFF)
                continue;
            builder.Append(char.ConvertFromUtf32(codePoint));
        }
        return builder.ToString();
    }
}

/// <summary>GPT-2's byte-to-character table, written out from its rule independently of the code under test.</summary>
public static class Gpt2Bytes
{
    public static string Spell(byte b)
    {
        var shifted = 0;
        for (var x = 0; x < b; x++)
        {
            if (!IsPrintable(x))
                shifted++;
        }
        return IsPrintable(b) ? ((char)b).ToString() : ((char)(256 + shifted)).ToString();
    }

    public static string Spell(string text) => string.Concat(Encoding.UTF8.GetBytes(text).Select(Spell));

    private static bool IsPrintable(int b) => (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/// <summary>Hugging Face tokenizers (Rust, through Tokenizers.DotNet) on a tokenizer.json: the reference. Its Encode adds what
/// the file's post-processor adds (bos), its Decode skips special tokens.</summary>
public static class HuggingFace
{
    // One loaded instance per file for the test process (a load parses the whole tokenizer.json); calls are serialized.
    private static readonly Dictionary<string, global::Tokenizers.DotNet.Tokenizer> Loaded = new(StringComparer.Ordinal);

    public static List<int> Encode(string tokenizerJson, string text)
    {
        lock (Loaded)
        {
            var key = tokenizerJson + "@" + File.GetLastWriteTimeUtc(tokenizerJson).Ticks;
            if (!Loaded.TryGetValue(key, out var tokenizer))
                Loaded[key] = tokenizer = new global::Tokenizers.DotNet.Tokenizer(tokenizerJson);
            return tokenizer.Encode(text).Select(id => (int)id).ToList();
        }
    }
}
