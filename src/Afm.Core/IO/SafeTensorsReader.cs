using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Afm.Core.IO;

/// <summary>
/// Reads a safetensors file one tensor at a time, straight from the file into the caller's buffer, converting
/// bf16 / fp16 / fp32 to fp32 on the way: a checkpoint larger than memory allows for two copies (or larger than a .NET
/// array) is read with one small staging buffer beside the destination. <see cref="SafeTensorsFile"/> is the whole-file
/// reader for the toolchain's own small files.
/// </summary>
public sealed class SafeTensorsReader : IDisposable
{
    /// <summary>Staging buffer: large enough for sequential reads to run at disk speed, small beside any tensor.</summary>
    private const int ChunkBytes = 1 << 20;

    private readonly SafeFileHandle _handle;

    private SafeTensorsReader(string path, SafeFileHandle handle, SafeTensorsHeader header)
    {
        Path = path;
        _handle = handle;
        Header = header;
    }

    public string Path { get; }
    public SafeTensorsHeader Header { get; }

    /// <exception cref="InvalidDataException">The header is malformed or disagrees with the file's length.</exception>
    public static SafeTensorsReader Open(string path)
    {
        var header = SafeTensorsHeader.Read(path);
        return new SafeTensorsReader(path, File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read), header);
    }

    /// <summary>Whether <see cref="ReadFloat32"/> can convert <paramref name="dtype"/>.</summary>
    public static bool IsFloatDType(string dtype) => dtype is "F32" or "F16" or "BF16";

    /// <summary>
    /// Copies the elements <c>[firstElement, firstElement + destination.Length)</c> of tensor <paramref name="name"/>
    /// (row-major) into <paramref name="destination"/> as fp32. Reading a row range lets a fused tensor be split
    /// without holding it whole.
    /// </summary>
    public void ReadFloat32(string name, long firstElement, Span<float> destination)
    {
        var info = Header.Tensors.TryGetValue(name, out var t) ? t : throw new InvalidDataException($"{Path}: there is no tensor '{name}'.");
        if (!IsFloatDType(info.DType)) throw new InvalidDataException($"{Path}: '{name}' is {info.DType}; only F32, F16 and BF16 convert to fp32.");
        if (firstElement < 0 || firstElement + destination.Length > info.ElementCount)
            throw new ArgumentOutOfRangeException(nameof(firstElement), $"elements [{firstElement}, {firstElement + destination.Length}) are outside '{name}' ({info.ElementCount}).");
        int size = SafeTensorsHeader.ElementSize(info.DType)!.Value;
        long offset = info.Begin + firstElement * size;
        var chunk = new byte[Math.Min(ChunkBytes, Math.Max(size, (long)destination.Length * size))];
        int done = 0;
        while (done < destination.Length)
        {
            int count = Math.Min(destination.Length - done, chunk.Length / size);
            var bytes = chunk.AsSpan(0, count * size);
            int read = 0;
            while (read < bytes.Length)
            {
                int n = RandomAccess.Read(_handle, bytes[read..], offset + read);
                if (n == 0) throw new InvalidDataException($"{Path}: the file ended inside '{name}'; it was truncated while being read.");
                read += n;
            }
            Convert(info.DType, bytes, destination.Slice(done, count));
            offset += bytes.Length;
            done += count;
        }
    }

    private static void Convert(string dtype, ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        switch (dtype)
        {
            case "F32":
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                else for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                break;
            case "F16":
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                break;
            case "BF16":
                // bfloat16 is the upper half of an IEEE float32: widening is exact.
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16);
                break;
        }
    }

    public void Dispose() => _handle.Dispose();
}
