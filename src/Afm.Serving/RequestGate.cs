namespace Afm.Serving;

/// <summary>
/// Bounded admission: at most <c>maxConcurrent</c> generations run and at most <c>queueLimit</c> wait. A request
/// beyond that is refused immediately (the caller answers 429), so overload costs the server almost nothing.
/// </summary>
public sealed class RequestGate(int maxConcurrent, int queueLimit)
{
    private readonly SemaphoreSlim slots = new(maxConcurrent, maxConcurrent);
    private int admitted;

    public int Running => Math.Max(0, Volatile.Read(ref admitted) - Waiting);
    public int Waiting => Math.Max(0, Volatile.Read(ref admitted) - (maxConcurrent - slots.CurrentCount));

    /// <summary>Null when the queue is full; otherwise a lease to dispose when the generation ends.</summary>
    public async Task<IDisposable?> TryEnterAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref admitted) > maxConcurrent + queueLimit)
        {
            Interlocked.Decrement(ref admitted);
            return null;
        }
        try
        {
            await slots.WaitAsync(cancellationToken);
        }
        catch
        {
            Interlocked.Decrement(ref admitted);
            throw;
        }
        return new Lease(this);
    }

    private sealed class Lease(RequestGate gate) : IDisposable
    {
        private int disposed;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
            gate.slots.Release();
            Interlocked.Decrement(ref gate.admitted);
        }
    }
}
