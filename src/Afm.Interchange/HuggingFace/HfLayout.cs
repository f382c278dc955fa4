namespace Afm.Interchange.HuggingFace;

/// <summary>
/// The files of a Hugging Face model folder, by the names transformers gives them: the one description of the layout,
/// used by the importer (what a BaseModel folder holds) and the exporter (what it writes).
/// </summary>
public static class HfLayout
{
    public const string Config = "config.json";
    public const string GenerationConfig = "generation_config.json";
    /// <summary>All weights in one file (what transformers writes below its shard size, and what the exporter writes).</summary>
    public const string Weights = "model.safetensors";
    /// <summary>Sharded weights: <c>{"weight_map": {tensor name: shard file}}</c> beside the shards.</summary>
    public const string WeightsIndex = "model.safetensors.index.json";
    public const string Readme = "README.md";
    /// <summary>A PEFT LoRA adapter folder: its config and its weights.</summary>
    public const string AdapterConfig = "adapter_config.json";
    public const string AdapterWeights = "adapter_model.safetensors";

    /// <summary>The tokenizer's files a checkpoint may carry (read by the tokenizer's loader, hashed with the checkpoint).</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja"];
}
