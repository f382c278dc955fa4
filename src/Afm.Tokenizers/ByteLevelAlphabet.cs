namespace Afm.Tokenizers;

/// <summary>
/// GPT-2's reversible byte-to-character map. Byte-level BPE files (vocab.json / merges.txt) spell every token
/// as one printable character per byte so that a token never contains a space or a control character;
/// Microsoft.ML.Tokenizers applies the same map when <c>BpeOptions.ByteLevel</c> is set, so our files must
/// use exactly this table.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildTable();
    private static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    private static char[] BuildTable()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            // Printable Latin-1 bytes stand for themselves; the rest (controls, space, 0x7F-0xA0, 0xAD) are
            // shifted to U+0100 and up, in byte order.
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    public static char Map(byte b) => ByteToChar[b];

    public static string Map(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
                span[i] = ByteToChar[source[i]];
        });
    }

    /// <summary>The bytes a byte-level spelling stands for, or null when a character is outside the alphabet.</summary>
    public static byte[]? Unmap(string spelling)
    {
        var bytes = new byte[spelling.Length];
        for (var i = 0; i < spelling.Length; i++)
        {
            if (!CharToByte.TryGetValue(spelling[i], out bytes[i])) return null;
        }
        return bytes;
    }
}
