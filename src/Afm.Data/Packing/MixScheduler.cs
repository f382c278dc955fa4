namespace Afm.Data.Packing;

/// <summary>
/// Picks which corpus fills the next sequence so that after n sequences each corpus has filled
/// round(weight * n) of them, give or take one (smooth weighted round-robin). Exact proportions even for short
/// stages, and no randomness needed: the randomness is in each corpus's document order.
/// </summary>
internal sealed class MixScheduler
{
    private readonly double[] _weights;
    private readonly double[] _credit;

    public MixScheduler(IReadOnlyList<double> weights)
    {
        var total = weights.Sum();
        if (weights.Count == 0 || total <= 0 || weights.Any(w => w < 0))
            throw new ArgumentException("A mix needs non-negative weights with a positive sum.", nameof(weights));
        _weights = weights.Select(w => w / total).ToArray();
        _credit = new double[weights.Count];
    }

    public int Next()
    {
        var best = 0;
        for (var i = 0; i < _weights.Length; i++)
        {
            _credit[i] += _weights[i];
            if (_credit[i] > _credit[best])
                best = i; // ties keep the earlier corpus (mix order is sorted by name)
        }
        _credit[best] -= 1;
        return best;
    }
}
