using System.Buffers.Binary;
using Afm.Core.Spec;

namespace Afm.Data.Packing;

/// <summary>
/// The preference pairs of one split of a reward or dpo stage, as the data stage packed them
/// (<see cref="PreferencePacker"/>). As an <see cref="ILossMaskedSequences"/>, "sequence" i is pair i: its chosen
/// sequence (L + 1 tokens) followed by its rejected one, so <see cref="SequenceLength"/> is 2L + 1 and the trainer's
/// seeded sampler hands out whole pairs. <see cref="ResponseLength"/> is L.
/// </summary>
public sealed class PreferencePairs : ILossMaskedSequences, IDisposable
{
    /// <summary>Bytes per pair in <c>&lt;split&gt;.pairs.bin</c>: the level, then the chosen and rejected grades (float32, NaN when not given).</summary>
    private const int LabelBytes = 9;

    private readonly ILossMaskedSequences _sequences;
    private readonly byte[] _labels;

    private PreferencePairs(ILossMaskedSequences sequences, byte[] labels)
    {
        if (sequences.Count % 2 != 0 || labels.Length != sequences.Count / 2 * LabelBytes)
            throw new InvalidDataException($"{sequences.Count} sequences and {labels.Length} label bytes are not whole preference pairs.");
        _sequences = sequences;
        _labels = labels;
    }

    public static string LabelsFileName(string split) => $"{split}.pairs.bin";

    /// <summary>The pairs of a split when the data stage packed the stage as preference pairs, else null.</summary>
    public static PreferencePairs? TryOpen(string dataDirectory, string stage, string split)
    {
        var labelsPath = Path.Combine(dataDirectory, stage, LabelsFileName(split));
        if (!File.Exists(labelsPath)) return null;
        var sequences = LossMaskedSequences.Open(dataDirectory, stage, split);
        if (sequences is not ILossMaskedSequences masked)
        {
            (sequences as IDisposable)?.Dispose();
            throw new InvalidDataException($"{labelsPath} exists but the split has no loss mask.");
        }
        return new PreferencePairs(masked, File.ReadAllBytes(labelsPath));
    }

    /// <summary>Pairs held in memory (tests, benches): sequences 2i and 2i + 1 are pair i's chosen and rejected.</summary>
    public static PreferencePairs FromSequences(ILossMaskedSequences sequences, IReadOnlyList<(PreferenceLevel Level, float ChosenGrade, float RejectedGrade)> labels)
    {
        using var stream = new MemoryStream();
        foreach (var (level, chosen, rejected) in labels) WriteLabel(stream, level, chosen, rejected);
        return new PreferencePairs(sequences, stream.ToArray());
    }

    internal static void WriteLabel(Stream stream, PreferenceLevel level, float chosenGrade, float rejectedGrade)
    {
        Span<byte> bytes = stackalloc byte[LabelBytes];
        bytes[0] = (byte)level;
        BinaryPrimitives.WriteSingleLittleEndian(bytes[1..], chosenGrade);
        BinaryPrimitives.WriteSingleLittleEndian(bytes[5..], rejectedGrade);
        stream.Write(bytes);
    }

    /// <summary>L: tokens the model sees of each response sequence.</summary>
    public int ResponseLength => _sequences.SequenceLength;
    public int SequenceLength => 2 * ResponseLength + 1;
    public long Count => _sequences.Count / 2;
    public int VocabSize => _sequences.VocabSize;

    public PreferenceLevel Level(long pair) => (PreferenceLevel)_labels[pair * LabelBytes];
    public float ChosenGrade(long pair) => BinaryPrimitives.ReadSingleLittleEndian(_labels.AsSpan((int)(pair * LabelBytes) + 1));
    public float RejectedGrade(long pair) => BinaryPrimitives.ReadSingleLittleEndian(_labels.AsSpan((int)(pair * LabelBytes) + 5));

    public void Read(long index, Span<int> destination)
    {
        int width = ResponseLength + 1;
        _sequences.Read(2 * index, destination[..width]);
        _sequences.Read(2 * index + 1, destination.Slice(width, width));
    }

    public void ReadLossMask(long index, Span<byte> destination)
    {
        int width = ResponseLength + 1;
        _sequences.ReadLossMask(2 * index, destination[..width]);
        _sequences.ReadLossMask(2 * index + 1, destination.Slice(width, width));
    }

    /// <summary>SHA-256 (hex) of every pair's tokens, loss mask and labels: what a stage trained on these pairs depends on.</summary>
    public string ContentHash()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var tokens = new int[SequenceLength + 1];
        var mask = new byte[SequenceLength + 1];
        for (long i = 0; i < Count; i++)
        {
            Read(i, tokens);
            ReadLossMask(i, mask);
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tokens.AsSpan()));
            hash.AppendData(mask);
        }
        hash.AppendData(_labels);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public void Dispose() => (_sequences as IDisposable)?.Dispose();
}
