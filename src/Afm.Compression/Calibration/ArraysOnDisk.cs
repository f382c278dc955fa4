using System.Collections;
using System.Runtime.InteropServices;
using Afm.Core.IO;

namespace Afm.Compression.Calibration;

/// <summary>
/// Named arrays that are read again on every lookup instead of being held: the quantize stage needs one layer's
/// weights, importance and input second moments at a time, and holding them for every layer of a 0.6B model took
/// more memory than the model itself (issue #15). Each lookup returns a new array the caller may keep or modify.
/// </summary>
public abstract class ArraysOnDisk<T> : IReadOnlyDictionary<string, T[]> where T : unmanaged
{
    public abstract IEnumerable<string> Keys { get; }
    public abstract bool ContainsKey(string key);
    protected abstract T[] Read(string key);

    public T[] this[string key] => ContainsKey(key) ? Read(key) : throw new KeyNotFoundException($"No array '{key}'.");
    public IEnumerable<T[]> Values => Keys.Select(Read);
    public int Count => Keys.Count();

    public bool TryGetValue(string key, out T[] value)
    {
        value = ContainsKey(key) ? Read(key) : null!;
        return value is not null;
    }

    public IEnumerator<KeyValuePair<string, T[]>> GetEnumerator() => Keys.Select(k => KeyValuePair.Create(k, Read(k))).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The float32 values of a safetensors file's tensors (bf16/fp16 widened as <c>Trainer.LoadModel</c> widens them).</summary>
public sealed class WeightsFileArrays(string path) : ArraysOnDisk<float>
{
    private readonly SafeTensorsHeader header = SafeTensorsHeader.Read(path);

    public override IEnumerable<string> Keys => header.Tensors.Keys;
    public override bool ContainsKey(string key) => header.Tensors.ContainsKey(key);

    protected override float[] Read(string key)
    {
        var values = new float[header.Tensors[key].Shape.Aggregate(1L, (a, b) => a * b)];
        ReadInto(key, values);
        return values;
    }

    /// <summary>Tensor <paramref name="key"/>'s values into <paramref name="destination"/> (all of them), with no array between.</summary>
    public void ReadInto(string key, Span<float> destination) => ReadRange(key, 0, destination);

    /// <summary>Values <paramref name="first"/> to <paramref name="first"/> + destination.Length of tensor <paramref name="key"/> (row-major).</summary>
    public void ReadRange(string key, long first, Span<float> destination)
    {
        using var reader = SafeTensorsReader.Open(path);
        reader.ReadFloat32(key, first, destination);
    }

    /// <summary>
    /// A slice of <paramref name="floats"/>[<paramref name="key"/>]: read from the file when the values live there (a slice of a
    /// 0.6 GB embedding, never the whole of it), else copied from the array.
    /// </summary>
    public static void ReadRange(IReadOnlyDictionary<string, float[]> floats, string key, long first, Span<float> destination)
    {
        if (floats is WeightsFileArrays file) file.ReadRange(key, first, destination);
        else floats[key].AsSpan(checked((int)first), destination.Length).CopyTo(destination);
    }
}

/// <summary>
/// Arrays written once to a temporary file (deleted when disposed) and read back on each lookup: measured statistics
/// that would not fit beside the model if held (Fisher importance, input second moments).
/// </summary>
public sealed class SpilledArrays<T> : ArraysOnDisk<T>, IDisposable where T : unmanaged
{
    private readonly FileStream file = Open();
    private readonly Dictionary<string, (long Offset, int Length)> index = new(StringComparer.Ordinal);
    private readonly List<string> order = [];

    public override IEnumerable<string> Keys => order;
    public override bool ContainsKey(string key) => index.ContainsKey(key);

    public void Add(string key, ReadOnlySpan<T> values)
    {
        if (index.ContainsKey(key)) throw new ArgumentException($"'{key}' was added already.", nameof(key));
        long offset = file.Length;
        file.Seek(offset, SeekOrigin.Begin);
        file.Write(MemoryMarshal.AsBytes(values));
        index[key] = (offset, values.Length);
        order.Add(key);
    }

    protected override T[] Read(string key)
    {
        var (offset, length) = index[key];
        var values = new T[length];
        file.Seek(offset, SeekOrigin.Begin);
        file.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    public void Dispose() => file.Dispose();

    /// <summary>On Unix the name is removed at once, so a process that is killed leaves no file behind (DeleteOnClose needs a Dispose).</summary>
    private static FileStream Open()
    {
        var path = Path.Combine(Path.GetTempPath(), $"afm-{Guid.NewGuid():N}.tmp");
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        if (!OperatingSystem.IsWindows()) File.Delete(path);
        return stream;
    }
}
