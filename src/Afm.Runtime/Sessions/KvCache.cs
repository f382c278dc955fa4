using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Sessions;

/// <summary>
/// The key/value cache of one sequence: the <c>present.*</c> OrtValues of the last run, fed back as
/// <c>past_key_values.*</c> of the next. Owned by one generation; not thread-safe.
/// </summary>
public sealed class KvCache : IDisposable
{
    internal KvCache(OrtValue[] keys, OrtValue[] values)
    {
        Keys = keys;
        Values = values;
    }

    internal OrtValue[] Keys { get; private set; }
    internal OrtValue[] Values { get; private set; }
    /// <summary>Positions already in the cache.</summary>
    public int Length { get; internal set; }

    internal void Replace(OrtValue[] keys, OrtValue[] values, int length)
    {
        DisposeValues();
        Keys = keys;
        Values = values;
        Length = length;
    }

    public void Dispose() => DisposeValues();

    private void DisposeValues()
    {
        foreach (var value in Keys) value.Dispose();
        foreach (var value in Values) value.Dispose();
        Keys = [];
        Values = [];
    }
}
