namespace Afm.Build.Tasks.Tests;

/// <summary>What the evaluate stage's tasks hand the compiler.</summary>
public sealed class EvaluationTaskCommandLineTests
{
    private const string Compiler = "/toolchain/afm.dll";

    private static AfmEvaluate Evaluate(bool quantized, bool evaluateFloat, string adapters) => new()
    {
        CompilerPath = Compiler, SpecFile = "/p/obj/afm/spec/spec.json", TokenizerDirectory = "/p/obj/afm/tokenizer/",
        ExportDirectory = "/p/obj/afm/export/", OnnxAdaptersDirectory = adapters, TrainDirectory = "/p/obj/afm/train/",
        Quantized = quantized, EvaluateFloat = evaluateFloat, OutputPath = "/p/obj/afm/evaluate/",
    };

    [Fact]
    public void Evaluate_passes_the_graph_tokenizer_and_output_of_a_float_model()
    {
        var commands = Evaluate(quantized: false, evaluateFloat: false, adapters: "").GetCommandsForTesting();
        Assert.Equal("evaluate", commands.CommandLine.Split(' ')[^1]);
        Assert.Equal("--spec \"/p/obj/afm/spec/spec.json\"\n--tokenizer \"/p/obj/afm/tokenizer/\"\n--export \"/p/obj/afm/export/\"\n--out \"/p/obj/afm/evaluate/\"\n",
            commands.ResponseFile);
    }

    [Fact]
    public void Evaluate_passes_the_adapters_the_quantized_flag_and_the_float_weights_when_asked()
    {
        var response = Evaluate(quantized: true, evaluateFloat: true, adapters: "/p/obj/afm/export-adapters/").GetCommandsForTesting().ResponseFile;
        Assert.Contains("--export-adapters \"/p/obj/afm/export-adapters/\"\n--quantized \"true\"\n--train \"/p/obj/afm/train/\"\n--float \"true\"\n", response);
    }

    [Fact]
    public void Evaluation_baseline_passes_update_only_when_asked()
    {
        AfmEvaluationBaseline Task(bool update) => new()
        {
            CompilerPath = Compiler, SpecFile = "/p/obj/afm/spec/spec.json", ReportFile = "/p/obj/afm/evaluate/evaluation.json",
            BaselineFile = "/p/baselines/evaluation.json", Tolerance = "0.02", Update = update,
        };
        Assert.Equal("--spec \"/p/obj/afm/spec/spec.json\"\n--report \"/p/obj/afm/evaluate/evaluation.json\"\n--baseline \"/p/baselines/evaluation.json\"\n--tolerance \"0.02\"\n",
            Task(update: false).GetCommandsForTesting().ResponseFile);
        Assert.EndsWith("--update \"true\"\n", Task(update: true).GetCommandsForTesting().ResponseFile);
    }
}
