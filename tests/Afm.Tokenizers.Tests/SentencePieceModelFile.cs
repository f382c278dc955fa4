using System.Text;
using System.Text.Json.Nodes;

namespace Afm.Tokenizers.Tests;

/// <summary>
/// A SentencePiece tokenizer.model written by hand from sentencepiece_model.proto (ModelProto: pieces = 1 {piece = 1,
/// score = 2, type = 3}, trainer_spec = 2 {model_type = 3, byte_fallback = 35}, normalizer_spec = 3 {name = 1,
/// add_dummy_prefix = 3, remove_extra_whitespaces = 4, escape_whitespaces = 5}) for the vocabulary of a Llama-style
/// tokenizer.json: a BPE piece's score is minus the rank of the merge that makes it, so the best-scoring merge first
/// (SentencePiece's rule) is the lowest-ranked merge first (Hugging Face's).
/// </summary>
public static class SentencePieceModelFile
{
    private const int Normal = 1, Unknown = 2, Control = 3, Byte = 6, Bpe = 2;

    public static byte[] From(JsonObject tokenizerJson, int modelType = Bpe)
    {
        var model = tokenizerJson["model"]!;
        var vocab = model["vocab"]!.AsObject().OrderBy(p => (int)p.Value!).Select(p => p.Key).ToList();
        var rank = model["merges"]!.AsArray().Select((m, i) => (Merged: ((string)m!).Replace(" ", ""), Rank: i))
            .ToDictionary(p => p.Merged, p => p.Rank);
        var proto = new MemoryStream();
        for (var id = 0; id < vocab.Count; id++)
        {
            var piece = vocab[id];
            var type = piece == "<unk>" ? Unknown : piece is "<s>" or "</s>" ? Control : piece.StartsWith("<0x", StringComparison.Ordinal) ? Byte : Normal;
            var score = rank.TryGetValue(piece, out var r) ? -r : type == Normal ? -(rank.Count + id) : 0;
            var message = new MemoryStream();
            Bytes(message, 1, Encoding.UTF8.GetBytes(piece));
            Float(message, 2, score);
            Varint(message, 3, type);
            Bytes(proto, 1, message.ToArray());
        }
        var trainer = new MemoryStream();
        Varint(trainer, 3, modelType);
        Varint(trainer, 35, 1);
        Bytes(proto, 2, trainer.ToArray());
        var normalizer = new MemoryStream();
        Bytes(normalizer, 1, Encoding.UTF8.GetBytes("identity"));
        Varint(normalizer, 3, 1);
        Varint(normalizer, 4, 0);
        Varint(normalizer, 5, 1);
        Bytes(proto, 3, normalizer.ToArray());
        return proto.ToArray();
    }

    private static void Tag(Stream s, int field, int wireType) => RawVarint(s, (ulong)((field << 3) | wireType));

    private static void Varint(Stream s, int field, long value)
    {
        Tag(s, field, 0);
        RawVarint(s, (ulong)value);
    }

    private static void Float(Stream s, int field, float value)
    {
        Tag(s, field, 5);
        s.Write(BitConverter.GetBytes(value)); // little-endian on every machine this runs on
    }

    private static void Bytes(Stream s, int field, byte[] value)
    {
        Tag(s, field, 2);
        RawVarint(s, (ulong)value.Length);
        s.Write(value);
    }

    private static void RawVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }
}
