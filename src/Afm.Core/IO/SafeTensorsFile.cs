using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace Afm.Core.IO;

/// <summary>
/// The raw content of a safetensors file: every tensor's dtype, shape and bytes, and the header's metadata.
/// The one parser of the format: the exporter and the adapter reader use it without libtorch, and Afm.Training's
/// checkpoint reader turns its entries into tensors. (Written by hand: no safetensors package restores here.) A small
/// file is read whole; a file above <see cref="MapAboveBytes"/> (a model's weights: 2.4 GB for Qwen3-0.6B in fp32, beyond
/// any .NET array) is memory-mapped, each tensor's bytes a view of the mapping that the operating system pages in and
/// out, so no copy of the file is held. <see cref="SafeTensorsReader"/> converts a checkpoint one tensor at a time.
/// Both parse with <see cref="SafeTensorsHeader"/>.
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>Above this size a file is mapped rather than read: the toolchain's small files stay plain reads.</summary>
    public const long MapAboveBytes = 256L << 20;

    public sealed record Entry(string DType, long[] Shape, ReadOnlyMemory<byte> Bytes);

    private SafeTensorsFile(string path, Dictionary<string, Entry> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Path { get; }
    public IReadOnlyDictionary<string, Entry> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsFile Read(string path) => Read(path, MapAboveBytes, Array.MaxLength);

    /// <param name="mapAboveBytes">Files larger than this are mapped (tests map a small file with 0).</param>
    /// <param name="maxTensorBytes">
    /// The largest tensor the file may hold: its bytes are one <see cref="ReadOnlyMemory{T}"/>, whose length is an int
    /// (tests lower it to reach the refusal with a small file).
    /// </param>
    internal static SafeTensorsFile Read(string path, long mapAboveBytes, long maxTensorBytes)
    {
        var header = SafeTensorsHeader.Read(path);
        if (header.Tensors.FirstOrDefault(t => t.Value.ByteCount > maxTensorBytes) is { Key: not null } large)
            throw new InvalidDataException($"{path}: '{large.Key}' has {large.Value.ByteCount:N0} bytes, more than one tensor can hold here " +
                $"({maxTensorBytes:N0}); SafeTensorsReader reads it in parts.");
        Func<long, long, ReadOnlyMemory<byte>> bytes = new FileInfo(path).Length > mapAboveBytes ? Mapped(path) : Whole(path);
        var tensors = header.Tensors.ToDictionary(t => t.Key,
            t => new Entry(t.Value.DType, t.Value.Shape, bytes(t.Value.Begin, t.Value.ByteCount)), StringComparer.Ordinal);
        return new SafeTensorsFile(path, tensors, new Dictionary<string, string>(header.Metadata, StringComparer.Ordinal));
    }

    private static Func<long, long, ReadOnlyMemory<byte>> Whole(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        return (begin, count) => file.AsMemory((int)begin, (int)count);
    }

    /// <summary>
    /// Read-only views of one mapping. Each view keeps the mapping alive; when the last entry is unreachable the view's
    /// handle unmaps it (its finalizer), so callers need not dispose anything, as with the whole-file read.
    /// </summary>
    private static Func<long, long, ReadOnlyMemory<byte>> Mapped(string path)
    {
        using var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        var region = new MappedRegion(view);
        return (begin, count) => region.Slice(begin, (int)count);
    }

    /// <summary>The tensor <paramref name="name"/>, which must have <paramref name="dtype"/>.</summary>
    public Entry Get(string name, string dtype)
    {
        if (!Tensors.TryGetValue(name, out var entry)) throw new InvalidDataException($"{Path}: there is no tensor '{name}'.");
        if (entry.DType != dtype) throw new InvalidDataException($"{Path}: '{name}' is {entry.DType}, not {dtype}.");
        return entry;
    }

    /// <summary>A mapped view, handed out as memory slices (each slice references the region, hence the view).</summary>
    private sealed unsafe class MappedRegion(MemoryMappedViewAccessor view)
    {
        private readonly byte* start = Acquire(view);

        private static byte* Acquire(MemoryMappedViewAccessor view)
        {
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return pointer + view.PointerOffset;
        }

        public ReadOnlyMemory<byte> Slice(long begin, int count) => new MappedSlice(this, start + begin, count).Memory;

        ~MappedRegion()
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
        }

        private sealed class MappedSlice(MappedRegion region, byte* pointer, int length) : MemoryManager<byte>
        {
            public override Span<byte> GetSpan() => new(pointer, length);
            public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex, default, this);
            public override void Unpin() { }
            // The slice references the region, so the mapping outlives every slice.
            protected override void Dispose(bool disposing) => GC.KeepAlive(region);
        }
    }
}
