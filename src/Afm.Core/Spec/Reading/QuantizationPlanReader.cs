namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the &lt;QuantizationPlan&gt; item (at most one). Values only: whether a target is reachable depends
/// on the layers' shapes and is checked by the quantize stage.
/// </summary>
internal static class QuantizationPlanReader
{
    public const int DefaultBits = 4;
    public const int DefaultLowBits = 2;
    public const int DefaultGroupSize = 16;
    public const int DefaultCalibrationSequences = 32;
    public const int DefaultKMeansIterations = 30;
    public const int DefaultTuningSteps = 80;
    public const double DefaultTuningLearningRate = 0.02;

    private static readonly string[] Known =
    [
        "Method", "Bits", "LowBits", "GroupSize", "LutType", "Embedding", "Importance", "TargetBitsPerWeight",
        "MaxWeightBytes", "MaxLatencyMs", "MaxEnergyMj", "Device", "Override", "KeepFloat", "CalibrationSequences",
        "KMeansIterations", "Rounding", "TuningSteps", "TuningLearningRate", "RuntimeForm",
        "RuntimeActivations",
    ];

    private static readonly (Func<double, bool>, string) BitsRange = (v => v >= 1 && v <= 8, "between 1 and 8");

    public static QuantizationPlanSpec? Read(SpecContext context)
    {
        var items = context.Items("QuantizationPlan");
        if (items.Count == 0) return null;
        foreach (var extra in items.Skip(1))
            context.Error(DiagnosticCodes.MultipleQuantizationPlans, extra.Location,
                $"The project declares {items.Count} quantization plans, but the quantize stage builds one. Remove this <QuantizationPlan> or the one declared first.");
        var item = items[0];
        item.WarnAboutUnknownMetadata(Known);

        var method = context.Choice(item, "Method", QuantizationMethod.Palettize, DiagnosticCodes.UnknownQuantizationMethod,
            ("palettize", QuantizationMethod.Palettize), ("uniform", QuantizationMethod.Uniform));
        var bits = item.Get("Bits") is { } b ? context.Int(b, BitsRange) : DefaultBits;
        var lowBits = item.Get("LowBits") is { } lb ? context.Int(lb, BitsRange) : Math.Min(DefaultLowBits, bits ?? DefaultLowBits);
        if (bits is int high && lowBits is int low && low > high)
            context.Error(DiagnosticCodes.LowBitsAboveBits, (item.Get("LowBits") ?? item.Get("Bits"))!.Value.Location,
                $"LowBits of {item.Describe} is {low}, above Bits {high}; the allocator lowers layers from Bits to LowBits. Write LowBits=\"{Math.Min(2, high)}\" or raise Bits.");
        var groupSize = item.Get("GroupSize") is { } g ? context.Int(g, SpecContext.Positive) : DefaultGroupSize;
        var lutType = context.Choice(item, "LutType", LutType.Fp16, DiagnosticCodes.UnknownLutType, ("fp16", LutType.Fp16), ("int8", LutType.Int8));
        var embedding = context.Choice(item, "Embedding", EmbeddingFormat.Int8PerChannel, DiagnosticCodes.UnknownEmbeddingFormat,
            ("int8-per-channel", EmbeddingFormat.Int8PerChannel), ("quantize", EmbeddingFormat.Quantize), ("float", EmbeddingFormat.Float));
        var importance = context.Choice(item, "Importance", ImportanceKind.Fisher, DiagnosticCodes.UnknownImportance,
            ("fisher", ImportanceKind.Fisher), ("none", ImportanceKind.None));
        var rounding = context.Choice(item, "Rounding", RoundingKind.Gptq, DiagnosticCodes.UnknownRounding,
            ("gptq", RoundingKind.Gptq), ("nearest", RoundingKind.Nearest));
        var runtimeForm = context.Choice(item, "RuntimeForm", RuntimeForm.Expand, DiagnosticCodes.UnknownRuntimeForm,
            ("expand", RuntimeForm.Expand), ("nbits", RuntimeForm.NBits));
        var activations = context.Choice(item, "RuntimeActivations", RuntimeActivations.Float32, DiagnosticCodes.UnknownRuntimeActivations,
            ("float32", RuntimeActivations.Float32), ("int8", RuntimeActivations.Int8));
        // Only MatMulNBits nodes take int8 activations: on an expanded graph the setting would do nothing.
        if (activations == RuntimeActivations.Int8 && runtimeForm == RuntimeForm.Expand)
        {
            context.Error(DiagnosticCodes.RuntimeActivationsWithoutNBits, item.Get("RuntimeActivations")!.Value.Location,
                $"{item.Describe} has RuntimeActivations=\"int8\", which sets how ONNX Runtime's MatMulNBits multiplies resident weights, but its RuntimeForm is 'expand' (weights expanded to float, no MatMulNBits). Add RuntimeForm=\"nbits\", or remove RuntimeActivations.");
            activations = null;
        }
        var overrides = item.Get("Override") is { } o ? ReadOverrides(context, o) : [];
        if (runtimeForm == RuntimeForm.NBits && !CheckNBits(context, item, method, lutType, bits, lowBits, overrides)) runtimeForm = null;
        var target = item.Get("TargetBitsPerWeight") is { } t ? context.Double(t, SpecContext.Positive) : null;
        var maxBytes = item.Get("MaxWeightBytes") is { } mb ? context.Long(mb, SpecContext.Positive) : null;
        var maxLatency = item.Get("MaxLatencyMs") is { } ml ? context.Double(ml, SpecContext.Positive) : null;
        var maxEnergy = item.Get("MaxEnergyMj") is { } me ? context.Double(me, SpecContext.Positive) : null;
        var device = item.Get("Device");
        // Latency and energy are costs on a device: without one the budget means nothing.
        foreach (var name in new[] { "MaxLatencyMs", "MaxEnergyMj" })
            if (item.Get(name) is { } budget && device is null)
                context.Error(DiagnosticCodes.DeviceBudgetWithoutDevice, budget.Location,
                    $"{budget.What} is a budget on a device, but {item.Describe} names none. Add Device=\"<a DeviceProfile's name>\" (and declare that <DeviceProfile>), or remove {name}.");
        if (device is { } d && !context.Items("DeviceProfile").Any(p => string.Equals(p.Include, d.Text, StringComparison.OrdinalIgnoreCase)))
            context.Error(DiagnosticCodes.UnknownDevice, d.Location,
                $"{d.What} is '{d.Text}', but no <DeviceProfile Include=\"{d.Text}\"> is declared. Declare the device or remove Device.");
        var keepFloat = item.Get("KeepFloat") is { } k
            ? k.Text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList() : [];
        var calibration = item.Get("CalibrationSequences") is { } c ? context.Int(c, SpecContext.Positive) : DefaultCalibrationSequences;
        var iterations = item.Get("KMeansIterations") is { } ki ? context.Int(ki, SpecContext.Positive) : DefaultKMeansIterations;
        var tuningSteps = item.Get("TuningSteps") is { } ts ? context.Int(ts, SpecContext.NonNegative) : DefaultTuningSteps;
        var tuningRate = item.Get("TuningLearningRate") is { } tl ? context.Double(tl, SpecContext.Positive) : DefaultTuningLearningRate;

        if (method is null || bits is null || lowBits is null || lowBits > bits || groupSize is null || lutType is null || embedding is null
            || importance is null || rounding is null || runtimeForm is null || activations is null || overrides is null || calibration is null || iterations is null
            || tuningSteps is null || tuningRate is null
            || (item.Has("TargetBitsPerWeight") && target is null) || (item.Has("MaxWeightBytes") && maxBytes is null)
            || ((item.Has("MaxLatencyMs") || item.Has("MaxEnergyMj")) && device is null)) return null;
        return new QuantizationPlanSpec
        {
            Name = item.Include,
            Method = method.Value,
            Bits = bits.Value,
            LowBits = lowBits.Value,
            GroupSize = groupSize.Value,
            LutType = lutType.Value,
            Embedding = embedding.Value,
            Importance = importance.Value,
            Rounding = rounding.Value,
            RuntimeForm = runtimeForm.Value,
            RuntimeActivations = activations.Value,
            TargetBitsPerWeight = target,
            MaxWeightBytes = maxBytes,
            MaxLatencyMs = maxLatency,
            MaxEnergyMj = maxEnergy,
            Device = device?.Text,
            Overrides = overrides,
            KeepFloat = keepFloat,
            CalibrationSequences = calibration.Value,
            KMeansIterations = iterations.Value,
            TuningSteps = tuningSteps.Value,
            TuningLearningRate = tuningRate.Value,
            Location = item.Location,
            TargetLocation = item.Get("TargetBitsPerWeight")?.Location,
            MaxWeightBytesLocation = item.Get("MaxWeightBytes")?.Location,
            MaxLatencyMsLocation = item.Get("MaxLatencyMs")?.Location,
            MaxEnergyMjLocation = item.Get("MaxEnergyMj")?.Location,
        };
    }

    /// <summary>
    /// ONNX Runtime's MatMulNBits runs blocks with integer zero points at 2, 4 or 8 bits only (its CPU kernel refuses other
    /// widths), so RuntimeForm="nbits" needs every bits the plan can give a layer in that set. A palettizing plan constrains
    /// each fp16 LUT to such a grid; an int8 LUT (int8 entries times an fp16 scale) cannot be held exactly that way.
    /// </summary>
    private static bool CheckNBits(SpecContext context, ItemView item, QuantizationMethod? method, LutType? lutType, int? bits, int? lowBits, IReadOnlyList<BitsOverride>? overrides)
    {
        var form = item.Get("RuntimeForm")!.Value;
        if (method == QuantizationMethod.Palettize && lutType == LutType.Int8)
        {
            context.Error(DiagnosticCodes.RuntimeFormInt8Lut, (item.Get("LutType") ?? form).Location,
                $"{item.Describe} has RuntimeForm=\"nbits\", which constrains each palette to evenly spaced fp16 entries that ONNX Runtime's MatMulNBits runs exactly, but LutType is 'int8'. Remove LutType=\"int8\", or use RuntimeForm=\"expand\".");
            return false;
        }
        var valid = true;
        foreach (var (name, value) in new[] { ("Bits", bits), ("LowBits", lowBits) }.Concat(overrides?.Select(o => ("Override " + o.Pattern, (int?)o.Bits)) ?? []))
            if (value is int v && v is not (2 or 4 or 8))
            {
                context.Error(DiagnosticCodes.RuntimeFormBits, (item.Get(name.StartsWith("Override", StringComparison.Ordinal) ? "Override" : name) ?? form).Location,
                    $"{item.Describe} has RuntimeForm=\"nbits\", whose kernel (ONNX Runtime's MatMulNBits) runs 2-, 4- and 8-bit weights, but {name} gives {v} bits. Use 2, 4 or 8 bits, or RuntimeForm=\"expand\".");
                valid = false;
            }
        return valid;
    }

    /// <summary><c>layers.0.*=4;lm_head=8</c>: layer-name patterns with the bits they force.</summary>
    private static List<BitsOverride>? ReadOverrides(SpecContext context, RawValue value)
    {
        var result = new List<BitsOverride>();
        var valid = true;
        foreach (var entry in value.Text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split('=', StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0 || !int.TryParse(parts[1], System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out var bits) || bits < 1 || bits > 8)
            {
                context.Error(DiagnosticCodes.InvalidOverride, value.Location,
                    $"{value.What} has entry '{entry}', which is not pattern=bits with bits from 1 to 8. Write entries such as Override=\"layers.0.*=4;lm_head=8\".");
                valid = false;
                continue;
            }
            result.Add(new BitsOverride(parts[0], bits));
        }
        return valid ? result : null;
    }
}
