using System.Security.Cryptography;
using Afm.Core.Artifacts;

namespace Afm.Packaging;

/// <summary>
/// One file of an artifact: bytes the packager made (manifest, spec, provenance, chart) or a stage's file on disk, which
/// is never read into memory (weights pass 2 GB, issue #15: a byte[] cannot hold them). The manifest lists every
/// entry's hash before the zip is written, so a file is read twice: once hashed, once copied into the zip with its hash
/// checked on the way, which also catches a file that changed in between.
/// </summary>
public abstract class ArtifactEntry
{
    public abstract long Length { get; }

    /// <summary>Lowercase hex SHA-256 of the content; computed once.</summary>
    public abstract string Sha256 { get; }

    /// <summary>Copies the content to <paramref name="destination"/> (a zip entry's stream).</summary>
    public abstract void CopyTo(Stream destination);

    public static ArtifactEntry Of(byte[] bytes) => new InMemory(bytes);

    public static ArtifactEntry FromFile(string path) => new OnDisk(path);

    /// <summary>The content of an entry the packager made in memory (the manifest that a signature covers).</summary>
    public static byte[] BytesOf(ArtifactEntry entry) => entry is InMemory memory ? memory.Bytes
        : throw new InvalidOperationException("only an entry made in memory hands out its bytes");

    private sealed class InMemory(byte[] bytes) : ArtifactEntry
    {
        private string? sha256;
        public byte[] Bytes { get; } = bytes;
        public override long Length => Bytes.LongLength;
        public override string Sha256 => sha256 ??= Hashing.Sha256(Bytes);
        public override void CopyTo(Stream destination) => destination.Write(Bytes);
    }

    private sealed class OnDisk(string path) : ArtifactEntry
    {
        // 1 MiB: large enough that the copy is bound by deflate, small enough to stay out of the large object heap's way.
        private const int BufferSize = 1 << 20;
        private string? sha256;
        private readonly long length = new FileInfo(path).Length;

        public override long Length => length;
        public override string Sha256 => sha256 ??= Hashing.Sha256OfFile(path);

        public override void CopyTo(Stream destination)
        {
            using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[BufferSize];
            long copied = 0;
            for (int read; (read = source.Read(buffer)) > 0; copied += read)
            {
                hash.AppendData(buffer, 0, read);
                destination.Write(buffer, 0, read);
            }
            if (copied != length || Convert.ToHexStringLower(hash.GetHashAndReset()) != Sha256)
                throw new IOException($"'{path}' changed while it was being packaged: the manifest would not describe it. Build again.");
        }
    }
}
