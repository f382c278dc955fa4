using System.Text;
using Afm.Data.Samples;

namespace Afm.Bench.Data;

/// <summary>
/// The text the bench trains and encodes. Preferably the .NET SDK's reference XML documentation (tens of MB of
/// real English prose mixed with code identifiers and numbers: an open vocabulary, unlike the sample corpora,
/// whose closed vocabulary runs out of merges below 1k tokens); the generated sample corpora otherwise.
/// </summary>
internal sealed record BenchCorpus(string Description, IReadOnlyList<string> Documents)
{
    public long Bytes { get; } = Documents.Sum(d => (long)Encoding.UTF8.GetByteCount(d));

    public static BenchCorpus Load(long maxBytes)
    {
        var dotnet = Path.GetDirectoryName(Environment.ProcessPath ?? "") is { } d && Directory.Exists(Path.Combine(d, "packs")) ? d : "/usr/share/dotnet";
        var packs = Path.Combine(dotnet, "packs");
        var files = Directory.Exists(packs)
            ? Directory.EnumerateFiles(packs, "*.xml", SearchOption.AllDirectories).Where(f => f.Contains("net10.0")).Order(StringComparer.Ordinal).ToList()
            : [];
        if (files.Count > 0)
            return Take($"<member> entries of {files.Count} .NET reference XML docs under {packs}", files.SelectMany(Members), maxBytes);

        var directory = Path.Combine(Path.GetTempPath(), "afm-bench-samples");
        SampleCorpusGenerator.Generate(directory, new SampleCorpusOptions().Scaled(Math.Max(1, (int)(maxBytes / 1_800_000))));
        return Take("generated sample corpora (closed vocabulary)",
            Directory.GetFiles(directory, "*.jsonl").Order(StringComparer.Ordinal).SelectMany(File.ReadLines), maxBytes);
    }

    /// <summary>One document per documented API member: many short documents, as web pages are, not a few huge files.</summary>
    private static IEnumerable<string> Members(string file) =>
        File.ReadAllText(file).Split("<member ", StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(m => "<member " + m.Trim());

    private static BenchCorpus Take(string description, IEnumerable<string> documents, long maxBytes)
    {
        var taken = new List<string>();
        long bytes = 0;
        foreach (var document in documents)
        {
            if (bytes >= maxBytes) break;
            taken.Add(document);
            bytes += Encoding.UTF8.GetByteCount(document);
        }
        return new BenchCorpus(description, taken);
    }

    /// <summary>The first documents making up about <paramref name="bytes"/> bytes.</summary>
    public BenchCorpus Prefix(long bytes) => Take(Description, Documents, bytes);
}
