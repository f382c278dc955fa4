using System.Text;

namespace Afm.Tokenizers;

/// <summary>
/// The fields of a SentencePiece tokenizer.model (a ModelProto, sentencepiece_model.proto) that a BPE tokenizer needs,
/// read with a minimal protobuf reader: every piece with its score and type, the model type, byte fallback, and the
/// normalizer's switches. Unknown fields are skipped; anything malformed is an <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class SentencePieceModelReader
{
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

    public const int BpeModelType = 2;

    public List<(string Piece, float Score, PieceType Type)> Pieces { get; } = [];
    public int ModelType { get; private set; } = 1; // the proto's default: unigram
    public bool ByteFallback { get; private set; }
    public bool AddDummyPrefix { get; private set; } = true;
    public bool RemoveExtraWhitespaces { get; private set; } = true;
    public bool EscapeWhitespaces { get; private set; } = true;
    public bool HasCharsMap { get; private set; }
    public int BosId { get; private set; } = 1;
    public int EosId { get; private set; } = 2;

    public static SentencePieceModelReader Read(byte[] bytes)
    {
        var model = new SentencePieceModelReader();
        var reader = new Reader(bytes);
        while (reader.More)
        {
            var (field, wire) = reader.Tag();
            switch (field, wire)
            {
                case (1, 2): model.Pieces.Add(ReadPiece(reader.Message())); break;
                case (2, 2): model.ReadTrainerSpec(reader.Message()); break;
                case (3, 2): model.ReadNormalizerSpec(reader.Message()); break;
                default: reader.Skip(wire); break;
            }
        }
        return model;
    }

    private static (string, float, PieceType) ReadPiece(Reader reader)
    {
        var (piece, score, type) = ("", 0f, PieceType.Normal);
        while (reader.More)
        {
            var (field, wire) = reader.Tag();
            switch (field, wire)
            {
                case (1, 2): piece = Encoding.UTF8.GetString(reader.Bytes()); break;
                case (2, 5): score = reader.Float(); break;
                case (3, 0): type = (PieceType)reader.Varint(); break;
                default: reader.Skip(wire); break;
            }
        }
        return (piece, score, type);
    }

    private void ReadTrainerSpec(Reader reader)
    {
        while (reader.More)
        {
            var (field, wire) = reader.Tag();
            switch (field, wire)
            {
                case (3, 0): ModelType = (int)reader.Varint(); break;
                case (35, 0): ByteFallback = reader.Varint() != 0; break;
                case (41, 0): BosId = (int)reader.Varint(); break;
                case (42, 0): EosId = (int)reader.Varint(); break;
                default: reader.Skip(wire); break;
            }
        }
    }

    private void ReadNormalizerSpec(Reader reader)
    {
        while (reader.More)
        {
            var (field, wire) = reader.Tag();
            switch (field, wire)
            {
                case (2, 2): HasCharsMap = reader.Bytes().Length > 0; break;
                case (3, 0): AddDummyPrefix = reader.Varint() != 0; break;
                case (4, 0): RemoveExtraWhitespaces = reader.Varint() != 0; break;
                case (5, 0): EscapeWhitespaces = reader.Varint() != 0; break;
                default: reader.Skip(wire); break;
            }
        }
    }

    private sealed class Reader(byte[] bytes, int start = 0, int end = -1)
    {
        private int _at = start;
        private readonly int _end = end < 0 ? bytes.Length : end;

        public bool More => _at < _end;

        public (int Field, int Wire) Tag()
        {
            var tag = Varint();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_at >= _end) throw new InvalidDataException("a varint runs past the end of its message");
                var b = bytes[_at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return value;
            }
            throw new InvalidDataException("a varint is longer than 10 bytes");
        }

        public float Float()
        {
            Need(4);
            var value = BitConverter.ToSingle(bytes, _at);
            _at += 4;
            return value;
        }

        public byte[] Bytes()
        {
            var length = Length();
            var value = bytes.AsSpan(_at, length).ToArray();
            _at += length;
            return value;
        }

        public Reader Message()
        {
            var length = Length();
            var message = new Reader(bytes, _at, _at + length);
            _at += length;
            return message;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Need(8); _at += 8; break;
                case 2: var length = Length(); _at += length; break; // Length() moves _at first: not "_at += Length()"
                case 5: Need(4); _at += 4; break;
                default: throw new InvalidDataException($"wire type {wire} is not one protobuf writes");
            }
        }

        private int Length()
        {
            var length = Varint();
            if (length > (ulong)(_end - _at)) throw new InvalidDataException("a length runs past the end of its message");
            return (int)length;
        }

        private void Need(int count)
        {
            if (_end - _at < count) throw new InvalidDataException("a value runs past the end of its message");
        }
    }
}
