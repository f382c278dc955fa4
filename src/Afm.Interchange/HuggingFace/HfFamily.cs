namespace Afm.Interchange.HuggingFace;

/// <summary>
/// The Hugging Face causal-LM architectures the generalized decoder covers. They differ in config keys and tensor names
/// (<see cref="HfTensorMap"/>), not in the computation: RMSNorm pre-norm, RoPE (rotate-half), GQA, SwiGLU.
/// </summary>
public enum HfFamily
{
    /// <summary>LlamaForCausalLM: no QK-norm, no biases.</summary>
    Llama,
    /// <summary>MistralForCausalLM: Llama's tensors; a sliding attention window.</summary>
    Mistral,
    /// <summary>Qwen2ForCausalLM: Llama's tensors plus q/k/v biases.</summary>
    Qwen2,
    /// <summary>Qwen3ForCausalLM: Llama's tensors plus per-head q_norm/k_norm, an explicit head_dim.</summary>
    Qwen3,
    /// <summary>OpenELMForCausalLM (Apple): per-layer head counts and FFN widths, fused qkv and gate/up projections.</summary>
    OpenElm,
}

/// <summary>The names a family goes by in config.json.</summary>
public static class HfFamilies
{
    /// <summary>config.json's <c>architectures[0]</c> and <c>model_type</c>, per family.</summary>
    public static readonly IReadOnlyList<(HfFamily Family, string ClassName, string ModelType)> All =
    [
        (HfFamily.Llama, "LlamaForCausalLM", "llama"),
        (HfFamily.Mistral, "MistralForCausalLM", "mistral"),
        (HfFamily.Qwen2, "Qwen2ForCausalLM", "qwen2"),
        (HfFamily.Qwen3, "Qwen3ForCausalLM", "qwen3"),
        (HfFamily.OpenElm, "OpenELMForCausalLM", "openelm"),
    ];

    public static string ClassName(HfFamily family) => All.First(f => f.Family == family).ClassName;
    public static string ModelType(HfFamily family) => All.First(f => f.Family == family).ModelType;

    public static HfFamily? FromClassName(string name) =>
        All.Where(f => f.ClassName == name).Select(f => (HfFamily?)f.Family).FirstOrDefault();
}
