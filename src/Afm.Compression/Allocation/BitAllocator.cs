namespace Afm.Compression.Allocation;

/// <summary>One way to store one layer: its bits, what it costs, and the loss increase it is predicted to cause.</summary>
/// <param name="StorageBits">Bits the layer takes in the file (indices + LUTs), the resource of the size budget.</param>
/// <param name="Costs">Per-device costs (latency ms, energy mJ, ...) in the order of the allocator's extra budgets;
/// empty when there are none (no profile stage yet).</param>
public sealed record LayerOption(int Bits, long StorageBits, double PredictedLoss, IReadOnlyList<double> Costs);

/// <summary>A limit on the sum of one of the options' <see cref="LayerOption.Costs"/>.</summary>
public sealed record CostBudget(string Resource, double Limit);

public sealed record FrontierPoint(long StorageBits, double PredictedLoss);

public sealed record BitAllocation(IReadOnlyList<int> Choices, long StorageBits, double PredictedLoss, IReadOnlyList<FrontierPoint> Frontier);

/// <summary>
/// Chooses one option per layer to minimise the summed predicted loss subject to a bits budget (and optional
/// cost budgets): a multiple-choice knapsack, solved exactly by dynamic programming over the bits discretized
/// into <see cref="Resolution"/> units (costs rounded up, so a solution that fits in units fits in bits).
/// Extra cost budgets are folded in by Lagrangian relaxation (specs/quantization.md, "Bit allocation").
/// </summary>
public static class BitAllocator
{
    public const int Resolution = 20_000;

    /// <summary>Null when even the cheapest option of every layer exceeds the budget.</summary>
    public static BitAllocation? Solve(IReadOnlyList<IReadOnlyList<LayerOption>> layers, long bitsBudget, IReadOnlyList<CostBudget>? budgets = null)
    {
        budgets ??= [];
        var multipliers = new double[budgets.Count];
        var result = SolveWith(layers, bitsBudget, multipliers);
        if (result is null || budgets.Count == 0) return result;
        // Raise each multiplier by bisection until its budget holds (a few rounds over all budgets).
        for (int round = 0; round < 3; round++)
            for (int r = 0; r < budgets.Count; r++)
            {
                if (Cost(layers, result!, r) <= budgets[r].Limit) continue;
                double lo = multipliers[r], hi = Math.Max(1e-9, 2 * Math.Max(lo, 1e-6));
                while (Cost(layers, SolveWith(layers, bitsBudget, With(multipliers, r, hi))!, r) > budgets[r].Limit && hi < 1e12) hi *= 2;
                for (int i = 0; i < 60; i++)
                {
                    double mid = 0.5 * (lo + hi);
                    if (Cost(layers, SolveWith(layers, bitsBudget, With(multipliers, r, mid))!, r) > budgets[r].Limit) lo = mid; else hi = mid;
                }
                multipliers[r] = hi;
                result = SolveWith(layers, bitsBudget, multipliers);
            }
        bool feasible = budgets.Select((b, r) => Cost(layers, result!, r) <= b.Limit).All(x => x);
        return feasible ? result : null;
    }

    private static double[] With(double[] values, int index, double value)
    {
        var copy = (double[])values.Clone();
        copy[index] = value;
        return copy;
    }

    private static double Cost(IReadOnlyList<IReadOnlyList<LayerOption>> layers, BitAllocation allocation, int resource) =>
        allocation.Choices.Select((c, l) => layers[l][c].Costs[resource]).Sum();

    private static BitAllocation? SolveWith(IReadOnlyList<IReadOnlyList<LayerOption>> layers, long bitsBudget, double[] multipliers)
    {
        long maxBits = layers.Sum(l => l.Max(o => o.StorageBits));
        long quantum = Math.Max(1, (maxBits + Resolution - 1) / Resolution);
        int units = (int)Math.Min(Resolution + layers.Count, maxBits / quantum + layers.Count);
        int budgetUnits = (int)Math.Min(units, Math.Max(-1, bitsBudget / quantum));
        if (budgetUnits < 0) return null;

        double Score(LayerOption o) => o.PredictedLoss + o.Costs.Select((c, r) => c * (r < multipliers.Length ? multipliers[r] : 0)).Sum();
        int Units(LayerOption o) => (int)((o.StorageBits + quantum - 1) / quantum);

        // best[u]: least score of the layers so far using exactly u units; choice[l][u] the option that got there.
        var best = new double[units + 1];
        Array.Fill(best, double.PositiveInfinity);
        best[0] = 0;
        var choice = new byte[layers.Count][];
        for (int l = 0; l < layers.Count; l++)
        {
            var next = new double[units + 1];
            Array.Fill(next, double.PositiveInfinity);
            choice[l] = new byte[units + 1];
            for (int u = 0; u <= units; u++)
            {
                if (double.IsPositiveInfinity(best[u])) continue;
                for (int o = 0; o < layers[l].Count; o++)
                {
                    int v = u + Units(layers[l][o]);
                    if (v > units) continue;
                    double score = best[u] + Score(layers[l][o]);
                    if (score < next[v]) { next[v] = score; choice[l][v] = (byte)o; }
                }
            }
            best = next;
        }

        // The least score within the budget; among equals the one using the most bits (never waste the budget).
        int chosenUnits = -1;
        for (int u = 0; u <= budgetUnits; u++)
            if (!double.IsPositiveInfinity(best[u]) && (chosenUnits < 0 || best[u] <= best[chosenUnits])) chosenUnits = u;
        if (chosenUnits < 0) return null;

        var frontier = new List<FrontierPoint>();
        double bestSoFar = double.PositiveInfinity;
        for (int u = 0; u <= units; u++)
            if (best[u] < bestSoFar)
            {
                bestSoFar = best[u];
                var choices = Backtrack(layers, choice, u, Units);
                frontier.Add(new FrontierPoint(choices.Select((c, l) => layers[l][c].StorageBits).Sum(), choices.Select((c, l) => layers[l][c].PredictedLoss).Sum()));
            }
        var picked = Backtrack(layers, choice, chosenUnits, Units);
        return new BitAllocation(picked, picked.Select((c, l) => layers[l][c].StorageBits).Sum(),
            picked.Select((c, l) => layers[l][c].PredictedLoss).Sum(), frontier);
    }

    private static int[] Backtrack(IReadOnlyList<IReadOnlyList<LayerOption>> layers, byte[][] choice, int u, Func<LayerOption, int> units)
    {
        var picked = new int[layers.Count];
        for (int l = layers.Count - 1; l >= 0; l--)
        {
            picked[l] = choice[l][u];
            u -= units(layers[l][picked[l]]);
        }
        return picked;
    }
}
