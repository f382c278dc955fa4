using Afm.Compression.Allocation;

namespace Afm.Compression.Tests;

public class AllocatorSpecs
{
    private static IReadOnlyList<LayerOption> Layer(long weights, double lowLoss, double highLoss = 0, double lowCost = 1, double highCost = 2) =>
        [new LayerOption(2, weights * 2, lowLoss, [lowCost]), new LayerOption(4, weights * 4, highLoss, [highCost])];

    private static IReadOnlyList<LayerOption> Plain(long weights, double lowLoss) =>
        [new LayerOption(2, weights * 2, lowLoss, []), new LayerOption(4, weights * 4, 0, [])];

    [Fact]
    public void Lowers_the_least_sensitive_layers_first()
    {
        var layers = new[] { Plain(100, 0.5), Plain(100, 0.01), Plain(100, 0.2), Plain(100, 0.02) };
        var allocation = BitAllocator.Solve(layers, 100 * (4 + 4 + 2 + 2))!;
        Assert.Equal(new[] { 1, 0, 1, 0 }, allocation.Choices);
        Assert.Equal(0.03, allocation.PredictedLoss, 12);
    }

    [Fact]
    public void Beats_greedy_when_sizes_differ()
    {
        // Lowering the big layer alone frees the budget; greedy by loss-per-bit would lower both small ones first.
        var layers = new[] { Plain(1000, 0.10), Plain(300, 0.04), Plain(300, 0.04) };
        var allocation = BitAllocator.Solve(layers, 1000 * 2 + 600 * 4)!;
        Assert.Equal(new[] { 0, 1, 1 }, allocation.Choices);
    }

    [Fact]
    public void Keeps_every_layer_high_when_the_budget_allows()
    {
        var layers = new[] { Plain(100, 0.5), Plain(100, 0.0) };
        Assert.Equal(new[] { 1, 1 }, BitAllocator.Solve(layers, 10_000)!.Choices);
    }

    [Fact]
    public void Returns_null_when_even_the_lowest_bits_exceed_the_budget()
    {
        Assert.Null(BitAllocator.Solve(new[] { Plain(100, 0.5) }, 199));
    }

    [Fact]
    public void The_frontier_is_monotone_and_ends_at_zero_predicted_loss()
    {
        var layers = new[] { Plain(100, 0.5), Plain(50, 0.1), Plain(70, 0.3) };
        var frontier = BitAllocator.Solve(layers, 10_000)!.Frontier;
        Assert.True(frontier.Zip(frontier.Skip(1)).All(p => p.Second.StorageBits > p.First.StorageBits && p.Second.PredictedLoss < p.First.PredictedLoss));
        Assert.Equal(0, frontier[^1].PredictedLoss);
    }

    [Fact]
    public void A_cost_budget_from_a_pluggable_cost_model_is_respected()
    {
        // Plenty of bits, but a latency-like budget of 5 allows only one layer at its costly high option.
        var layers = new[] { Layer(100, 0.5), Layer(100, 0.1), Layer(100, 0.3), Layer(100, 0.2) };
        var allocation = BitAllocator.Solve(layers, 1_000_000, [new CostBudget("latency", 5)])!;
        Assert.Equal(new[] { 1, 0, 0, 0 }, allocation.Choices);
    }

    [Fact]
    public void Under_a_cost_budget_no_point_of_the_size_frontier_that_meets_it_predicts_less_loss()
    {
        var random = new Random(7);
        var layers = Enumerable.Range(0, 12).Select(_ => Layer(random.Next(50, 400), random.NextDouble(), random.NextDouble() * 0.05,
            lowCost: random.NextDouble(), highCost: 1 + random.NextDouble())).ToArray();
        var budget = new CostBudget("latency", 12 * 1.0);
        var allocation = BitAllocator.Solve(layers, long.MaxValue / 4, [budget])!;
        double Cost(IReadOnlyList<int> c) => c.Select((o, l) => layers[l][o].Costs[0]).Sum();
        Assert.True(Cost(allocation.Choices) <= budget.Limit);
        foreach (var point in allocation.Frontier.Where(p => Cost(p.Choices) <= budget.Limit))
            Assert.True(allocation.PredictedLoss <= point.PredictedLoss + 1e-12, $"{point.PredictedLoss} < {allocation.PredictedLoss}");
    }
}
