using System.Globalization;
using Afm.Compression.Storage;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;

namespace Afm.Compression.Allocation;

/// <summary>The candidate formats of one layer with their measured loss increases (keyed by bits; 0 for int8/float).</summary>
internal sealed class LayerCandidates : SortedDictionary<int, (QuantizedTensor Tensor, double Loss)>
{
    /// <summary>
    /// The loss increase the allocator predicts for <paramref name="bits"/>: the measured one with negatives (calibration
    /// noise) as 0, and never below that of a candidate with more bits — noise must not make fewer bits look better,
    /// or a plan without any budget would lower layers.
    /// </summary>
    public double PredictedLoss(int bits) => this.Where(c => c.Key >= bits).Max(c => Math.Max(0, c.Value.Loss));
}

/// <summary>
/// Turns a plan's budgets into the allocator's problem: the bits budget (TargetBitsPerWeight, MaxWeightBytes) and,
/// with a Device, the decode-step latency and energy budgets from the profile stage's per-layer costs. Every
/// budget that cannot be met is an error at the attribute that set it.
/// </summary>
internal static class PlanAllocator
{
    public const string ErrorTargetUnreachable = "AFM4101";
    public const string ErrorBytesUnreachable = "AFM4102";
    public const string ErrorLatencyUnreachable = "AFM4104";
    public const string ErrorEnergyUnreachable = "AFM4105";
    public const string ErrorDeviceNotCosted = "AFM4106";

    public static Dictionary<string, int> Allocate(QuantizationPlanSpec plan, string projectPath, List<LayerPlan> layers, List<LayerPlan> allocatable,
        Dictionary<string, LayerCandidates> candidates, DeviceCosts? device, out BitAllocation? allocation)
    {
        long fixedQuantizedBits = layers.Where(l => l.Role == LayerRole.Fixed).Sum(l => candidates[l.WeightName].Values.Single().Tensor.StorageBytes * 8);
        long quantizedParameters = layers.Where(l => l.IsQuantized).Sum(l => l.Count);
        long otherBits = layers.Where(l => !l.IsQuantized).Sum(l => l.Role == LayerRole.Vector ? l.Count * 32 : candidates[l.WeightName].Values.Single().Tensor.StorageBytes * 8);
        long budget = long.MaxValue;
        if (plan.TargetBitsPerWeight is double target) budget = Math.Min(budget, (long)Math.Floor(target * quantizedParameters) - fixedQuantizedBits);
        if (plan.MaxWeightBytes is long maxBytes) budget = Math.Min(budget, maxBytes * 8 - otherBits - fixedQuantizedBits);

        var costBudgets = CostBudgets(plan, projectPath, layers, allocatable, candidates, device);
        var options = allocatable.Select(l => (IReadOnlyList<LayerOption>)candidates[l.WeightName]
            .Select(c => new LayerOption(c.Key, c.Value.Tensor.StorageBytes * 8, candidates[l.WeightName].PredictedLoss(c.Key),
                costBudgets.Select(b => b.CostOf(l, c.Value.Tensor)).ToList())).ToList()).ToList();
        allocation = allocatable.Count == 0 ? null : BitAllocator.Solve(options, budget, costBudgets.Select(b => b.Budget).ToList());
        if (allocatable.Count > 0 && allocation is null)
            throw Unreachable(plan, projectPath, options, costBudgets, budget, fixedQuantizedBits, quantizedParameters, otherBits);
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < allocatable.Count; i++) result[allocatable[i].WeightName] = options[i][allocation!.Choices[i]].Bits;
        return result;
    }

    /// <summary>A device budget: its limit on the allocatable layers (the rest of the model's cost subtracted) and what an option costs.</summary>
    private sealed record DeviceBudget(CostBudget Budget, double FixedCost, Func<LayerPlan, QuantizedTensor, double> CostOf, SourceLocation Location, string Code);

    private static List<DeviceBudget> CostBudgets(QuantizationPlanSpec plan, string projectPath, List<LayerPlan> layers, List<LayerPlan> allocatable,
        Dictionary<string, LayerCandidates> candidates, DeviceCosts? device)
    {
        var wanted = new List<(string Resource, double Limit, SourceLocation? Location, string Code, Func<Profiling.Profile.LayerCost, double> Of)>();
        if (plan.MaxLatencyMs is double ms) wanted.Add(("latency", ms, plan.MaxLatencyMsLocation, ErrorLatencyUnreachable, c => c.LatencyMs));
        if (plan.MaxEnergyMj is double mj) wanted.Add(("energy", mj, plan.MaxEnergyMjLocation, ErrorEnergyUnreachable, c => c.EnergyMj));
        if (wanted.Count == 0) return [];
        var at = wanted[0].Location ?? plan.Location ?? SourceLocation.FileOnly(projectPath);
        if (device is null)
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, ErrorDeviceNotCosted,
                $"QuantizationPlan '{plan.Name}' has a {wanted[0].Resource} budget on device '{plan.Device}', but the profile stage wrote no costs for it. Declare <DeviceProfile Include=\"{plan.Device}\" /> so AfmProfile runs before AfmQuantize.", at));
        // Every format the budget must cost: the candidates of allocatable layers and the one format of every other matrix.
        var missing = layers.Where(l => l.Role != LayerRole.Vector && device.Covers(l.Name))
            .SelectMany(l => candidates[l.WeightName].Values.Select(c => c.Tensor)).Where(t => !device.Tabulates(t))
            .Select(t => device.FormatOf(t).Name).Distinct().ToList();
        if (missing.Count > 0)
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, ErrorDeviceNotCosted,
                $"The profile of device '{device.Device}' has no cost for {string.Join(", ", missing)}, which QuantizationPlan '{plan.Name}' uses; it tabulates {string.Join(", ", device.Formats)}. With a latency or energy budget use Bits, LowBits and Override bits of 2, 3 or 4.", at));

        var lowest = layers.Where(l => l.Role != LayerRole.Vector)
            .Select(l => (l.Name, l.Role == LayerRole.Allocatable ? candidates[l.WeightName].Values.First().Tensor : candidates[l.WeightName].Values.Single().Tensor)).ToList();
        var totals = device.Totals(lowest);
        var allocatableAtLowest = allocatable.Where(l => device.Covers(l.Name)).Select(l => device.Cost(l.Name, candidates[l.WeightName].Values.First().Tensor)).ToList();
        return wanted.Select(w =>
        {
            double whole = w.Resource == "latency" ? totals.LatencyMs : totals.EnergyMj;
            double fixedCost = whole - allocatableAtLowest.Sum(w.Of);
            return new DeviceBudget(new CostBudget(w.Resource, w.Limit - fixedCost), fixedCost,
                (l, t) => device.Covers(l.Name) ? w.Of(device.Cost(l.Name, t)) : 0, w.Location ?? at, w.Code);
        }).ToList();
    }

    private static DiagnosticException Unreachable(QuantizationPlanSpec plan, string projectPath, List<IReadOnlyList<LayerOption>> options,
        List<DeviceBudget> costBudgets, long budget, long fixedQuantizedBits, long quantizedParameters, long otherBits)
    {
        long lowest = options.Sum(o => o.Min(x => x.StorageBits)) + fixedQuantizedBits;
        if (plan.TargetBitsPerWeight is double t && (long)Math.Floor(t * quantizedParameters) < lowest)
            return new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, ErrorTargetUnreachable,
                string.Create(CultureInfo.InvariantCulture, $"TargetBitsPerWeight {t} cannot be met: with every allocatable layer at LowBits {plan.LowBits} the quantized layers take {(double)lowest / quantizedParameters:0.000} bits per weight (LUTs included). Raise TargetBitsPerWeight, lower LowBits, or raise GroupSize."),
                plan.TargetLocation ?? plan.Location ?? SourceLocation.FileOnly(projectPath)));
        if (plan.MaxWeightBytes is long maxBytes && maxBytes * 8 < lowest + otherBits)
            return new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, ErrorBytesUnreachable,
                $"MaxWeightBytes {plan.MaxWeightBytes} cannot be met: the smallest allocation takes {(lowest + otherBits + 7) / 8} bytes. Raise MaxWeightBytes, lower LowBits, or keep fewer layers in float.",
                plan.MaxWeightBytesLocation ?? plan.Location ?? SourceLocation.FileOnly(projectPath)));
        for (int r = 0; r < costBudgets.Count; r++)
        {
            var b = costBudgets[r];
            double least = BitAllocator.MinimumCost(options, r) + b.FixedCost;
            string unit = b.Budget.Resource == "latency" ? "ms" : "mJ";
            string what = b.Budget.Resource == "latency" ? "MaxLatencyMs" : "MaxEnergyMj";
            double limit = b.Budget.Limit + b.FixedCost;
            string message = least > limit
                ? $"{what} {F(limit)} cannot be met on device '{plan.Device}': one decode step takes at least {F(least)} {unit} with every allocatable layer at LowBits {plan.LowBits} ({F(b.FixedCost)} {unit} of it in what the plan does not allocate: embedding, overrides, float layers and weightless ops). Raise {what}, lower LowBits, or lower Override bits."
                : $"{what} {F(limit)} on device '{plan.Device}' cannot be met together with the plan's other budgets: meeting it needs more layers at LowBits {plan.LowBits} than they allow. Raise {what} or relax the other budgets.";
            if (least > limit || r == costBudgets.Count - 1)
                return new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, b.Code, message, b.Location));
        }
        return new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, ErrorBytesUnreachable,
            $"The budgets of QuantizationPlan '{plan.Name}' cannot be met together (bits budget {budget}).", plan.Location ?? SourceLocation.FileOnly(projectPath)));
    }

    private static string F(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
