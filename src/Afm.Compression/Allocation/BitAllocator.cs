namespace Afm.Compression.Allocation;

/// <summary>One way to store one layer: its bits, what it costs, and the loss increase it is predicted to cause.</summary>
/// <param name="StorageBits">Bits the layer takes in the file (indices + LUTs), the resource of the size budget.</param>
/// <param name="Costs">Per-device costs (latency ms, energy mJ, ...) in the order of the allocator's extra budgets;
/// empty when there are none (no profile stage yet).</param>
public sealed record LayerOption(int Bits, long StorageBits, double PredictedLoss, IReadOnlyList<double> Costs);

/// <summary>A limit on the sum of one of the options' <see cref="LayerOption.Costs"/>.</summary>
public sealed record CostBudget(string Resource, double Limit);

/// <param name="Choices">The option of every layer at this point (the report costs it on every device).</param>
public sealed record FrontierPoint(long StorageBits, double PredictedLoss, IReadOnlyList<int> Choices);

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

    /// <summary>
    /// Null when no choice meets every budget. The frontier is always the one of the bits budget alone (least
    /// predicted loss per size); the cost budgets only move the chosen point.
    /// </summary>
    public static BitAllocation? Solve(IReadOnlyList<IReadOnlyList<LayerOption>> layers, long bitsBudget, IReadOnlyList<CostBudget>? budgets = null)
    {
        budgets ??= [];
        var multipliers = new double[budgets.Count];
        var plain = SolveWith(layers, bitsBudget, multipliers);
        if (plain is null || budgets.Count == 0) return plain;
        var result = plain;
        // The best feasible choice seen anywhere: every point of the size frontier and every relaxation solution.
        int[]? best = null;
        double bestLoss = double.PositiveInfinity;
        long bestBits = -1;
        void Consider(IReadOnlyList<int> choices)
        {
            if (!Feasible(layers, choices, bitsBudget, budgets)) return;
            double loss = choices.Select((c, l) => layers[l][c].PredictedLoss).Sum();
            long bits = choices.Select((c, l) => layers[l][c].StorageBits).Sum();
            if (loss < bestLoss || (loss == bestLoss && bits > bestBits)) (best, bestLoss, bestBits) = (choices.ToArray(), loss, bits);
        }
        foreach (var point in plain.Frontier) Consider(point.Choices);
        BitAllocation Relaxed(double[] m)
        {
            var r = SolveWith(layers, bitsBudget, m, frontier: false)!;
            Consider(r.Choices);
            return r;
        }
        // Raise each multiplier by bisection until its budget holds (a few rounds over all budgets).
        for (int round = 0; round < 3; round++)
            for (int r = 0; r < budgets.Count; r++)
            {
                if (Cost(layers, result!.Choices, r) <= budgets[r].Limit) continue;
                double lo = multipliers[r], hi = Math.Max(1e-9, 2 * Math.Max(lo, 1e-6));
                while (Cost(layers, Relaxed(With(multipliers, r, hi)).Choices, r) > budgets[r].Limit && hi < 1e12) hi *= 2;
                for (int i = 0; i < 60; i++)
                {
                    double mid = 0.5 * (lo + hi);
                    if (Cost(layers, Relaxed(With(multipliers, r, mid)).Choices, r) > budgets[r].Limit) lo = mid; else hi = mid;
                }
                multipliers[r] = hi;
                result = Relaxed(multipliers);
            }
        if (best is null) return null;
        // The relaxation only reaches points on the convex hull and may leave slack in every budget: spend it.
        var choices = Improve(layers, best, bitsBudget, budgets);
        return new BitAllocation(choices, choices.Select((c, l) => layers[l][c].StorageBits).Sum(),
            choices.Select((c, l) => layers[l][c].PredictedLoss).Sum(), plain.Frontier);
    }

    /// <summary>The least sum of resource <paramref name="resource"/> any choice reaches (every budget below it is impossible).</summary>
    public static double MinimumCost(IReadOnlyList<IReadOnlyList<LayerOption>> layers, int resource) =>
        layers.Sum(l => l.Min(o => o.Costs[resource]));

    /// <summary>
    /// Greedy repair after the relaxation: repeatedly take the single-layer change that lowers the predicted loss
    /// most (or, at equal loss, adds bits) while the bits and every cost budget still hold.
    /// </summary>
    private static int[] Improve(IReadOnlyList<IReadOnlyList<LayerOption>> layers, int[] choices, long bitsBudget, IReadOnlyList<CostBudget> budgets)
    {
        while (true)
        {
            long bits = choices.Select((c, l) => layers[l][c].StorageBits).Sum();
            var costs = Enumerable.Range(0, budgets.Count).Select(r => Cost(layers, choices, r)).ToArray();
            (int Layer, int Option, double Gain, long Bits) best = (-1, -1, 0, 0);
            for (int l = 0; l < layers.Count; l++)
                for (int o = 0; o < layers[l].Count; o++)
                {
                    var from = layers[l][choices[l]];
                    var to = layers[l][o];
                    double gain = from.PredictedLoss - to.PredictedLoss;
                    long extraBits = to.StorageBits - from.StorageBits;
                    if (o == choices[l] || gain < 0 || (gain == 0 && extraBits <= 0) || bits + extraBits > bitsBudget) continue;
                    if (Enumerable.Range(0, budgets.Count).Any(r => costs[r] - from.Costs[r] + to.Costs[r] > budgets[r].Limit)) continue;
                    if (best.Layer < 0 || gain > best.Gain || (gain == best.Gain && extraBits > best.Bits)) best = (l, o, gain, extraBits);
                }
            if (best.Layer < 0) return choices;
            choices[best.Layer] = best.Option;
        }
    }

    private static bool Feasible(IReadOnlyList<IReadOnlyList<LayerOption>> layers, IReadOnlyList<int> choices, long bitsBudget, IReadOnlyList<CostBudget> budgets) =>
        choices.Select((c, l) => layers[l][c].StorageBits).Sum() <= bitsBudget
        && budgets.Select((b, r) => Cost(layers, choices, r) <= b.Limit).All(x => x);

    private static double[] With(double[] values, int index, double value)
    {
        var copy = (double[])values.Clone();
        copy[index] = value;
        return copy;
    }

    private static double Cost(IReadOnlyList<IReadOnlyList<LayerOption>> layers, IReadOnlyList<int> choices, int resource) =>
        choices.Select((c, l) => layers[l][c].Costs[resource]).Sum();

    private static BitAllocation? SolveWith(IReadOnlyList<IReadOnlyList<LayerOption>> layers, long bitsBudget, double[] multipliers, bool frontier = true)
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

        var points = new List<FrontierPoint>();
        double bestSoFar = double.PositiveInfinity;
        for (int u = 0; u <= units && frontier; u++)
            if (best[u] < bestSoFar)
            {
                bestSoFar = best[u];
                var choices = Backtrack(layers, choice, u, Units);
                points.Add(new FrontierPoint(choices.Select((c, l) => layers[l][c].StorageBits).Sum(), choices.Select((c, l) => layers[l][c].PredictedLoss).Sum(), choices));
            }
        var picked = Backtrack(layers, choice, chosenUnits, Units);
        return new BitAllocation(picked, picked.Select((c, l) => layers[l][c].StorageBits).Sum(),
            picked.Select((c, l) => layers[l][c].PredictedLoss).Sum(), points);
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
