using System.Security.Cryptography;
using System.Text;
using Afm.Core.Spec;
using Afm.Data.Corpora;

namespace Afm.Data.Packing;

/// <summary>
/// Removes exact duplicates (across all corpora, the first occurrence in spec order wins) and documents that
/// also appear in an eval set marked Decontaminate. "Exact" is after normalization: case-folded, whitespace runs
/// collapsed, trimmed.
/// </summary>
/// <remarks>
/// Decontamination is by whole document, not by n-gram overlap: templated corpora (like the samples) share long
/// n-grams between every pair of documents by construction, and an n-gram filter would empty them.
/// </remarks>
internal sealed class DocumentFilter
{
    private readonly HashSet<UInt128> _seen = new();
    private readonly HashSet<UInt128> _evaluation = new();

    public DocumentFilter(IEnumerable<EvalSetSpec> evalSets)
    {
        foreach (var evalSet in evalSets.Where(e => e.Decontaminate))
        {
            foreach (var document in CorpusReader.Read(evalSet))
                _evaluation.Add(Key(document.Text));
        }
    }

    public (List<Document> Kept, int Duplicates, int Contaminated) Apply(IEnumerable<Document> documents)
    {
        var kept = new List<Document>();
        int duplicates = 0, contaminated = 0;
        foreach (var document in documents)
        {
            var key = Key(document.Text);
            if (_evaluation.Contains(key))
                contaminated++;
            else if (!_seen.Add(key))
                duplicates++;
            else
                kept.Add(document);
        }
        return (kept, duplicates, contaminated);
    }

    private static UInt128 Key(string text)
    {
        var normalized = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text.AsSpan().Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }
            if (space)
                normalized.Append(' ');
            space = false;
            normalized.Append(char.ToLowerInvariant(c));
        }
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(normalized.ToString()), digest);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }
}
