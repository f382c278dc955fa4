namespace Afm.Sdk.Tests.Infrastructure;

/// <summary>The micro .afmproj the end-to-end tests build: a few thousand parameters, tens of steps.</summary>
public static class MicroModel
{
    public const string Properties = """
            <ModelName>micro</ModelName>
            <Version>0.3.0</Version>
            <Seed>42</Seed>
            <ModelDim>32</ModelDim>
            <Layers>2</Layers>
            <Heads>4</Heads>
            <KvHeads>2</KvHeads>
            <FfnDim>64</FfnDim>
        """;

    public const string Items = """
            <Tokenizer Include="bpe" VocabSize="320" />
            <Corpus Include="data/corpus.jsonl" Name="stories" />
            <EvalSet Include="data/eval.jsonl" />
            <TrainingStage Include="core" Tokens="24k" SequenceLength="32" BatchSize="8" LearningRate="0.01" Warmup="5" />
        """;

    /// <summary><see cref="Items"/> and one accuracy-recovery adapter of rank 4: what the adapter and interchange builds share.</summary>
    public const string ItemsWithRecoveryAdapter = Items + """
                <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="4" Tokens="2k" />
        """;

    public static string Project(string? properties = null, string? items = null) => $"""
        <Project Sdk="Afm.Sdk">
          <PropertyGroup>
        {properties ?? Properties}
          </PropertyGroup>
          <ItemGroup>
        {items ?? Items}
          </ItemGroup>
        </Project>
        """;
}
