using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Training.Adapters;

/// <summary>
/// The control for "share of the quantization loss recovered": the same recovery adapters (same names, so the same seeds,
/// A initialization and batch order; same ranks, steps, learning rate and data) trained on the <b>float</b> model instead
/// of the quantized one. On this sample quantization loses almost nothing, so most of what a recovery adapter gains is
/// extra training; the control measures that part, and only the difference between the two gains is recovery.
/// It runs the build's own `afm adapters` stage on the build's tokenizer, data and float weights, with a copy of the
/// validated spec.json that has no QuantizationPlan (so the stage trains on the float base) and only the recovery
/// adapters. The stage reuses an adapter whose fingerprint is unchanged, so a second bench run trains nothing here.
/// </summary>
internal static class FloatControl
{
    public static AdaptersReport Run(string repository, string afmDirectory, string controlDirectory)
    {
        string compiler = Path.Combine(repository, "src", "Afm.Cli", "bin", "Release", "net10.0", "afm.dll");
        if (!File.Exists(compiler)) throw new FileNotFoundException("The afm compiler the build used is missing.", compiler);

        var spec = JsonNode.Parse(File.ReadAllText(Path.Combine(afmDirectory, "spec", "spec.json")))!.AsObject();
        spec["quantization"] = null;
        var recovery = spec["adapters"]!.AsArray().Where(a => (string?)a!["kind"] == "accuracyRecovery").Select(a => a!.DeepClone()).ToArray();
        spec["adapters"] = new JsonArray(recovery);
        Directory.CreateDirectory(controlDirectory);
        string specPath = Path.Combine(controlDirectory, "spec.json");
        File.WriteAllText(specPath, spec.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        string output = Path.Combine(controlDirectory, "adapters");
        using (var stage = Process.Start(new ProcessStartInfo("dotnet", [compiler, "adapters", "--spec", specPath,
                   "--tokenizer", Path.Combine(afmDirectory, "tokenizer"), "--data", Path.Combine(afmDirectory, "data"),
                   "--train", Path.Combine(afmDirectory, "train"), "--out", output]))!)
        {
            stage.WaitForExit();
            if (stage.ExitCode != 0) throw new InvalidOperationException($"afm adapters (float control) failed ({stage.ExitCode})");
        }
        var report = JsonSerializer.Deserialize<AdaptersReport>(File.ReadAllText(Path.Combine(output, "report.json")),
            new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        if (report.Base != "float") throw new InvalidOperationException($"The control trained on the {report.Base} base, not the float one.");
        return report;
    }
}
