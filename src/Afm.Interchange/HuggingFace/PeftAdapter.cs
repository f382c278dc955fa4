using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Afm.Core.IO;

namespace Afm.Interchange.HuggingFace;

/// <summary>
/// A LoRA adapter in PEFT's layout: <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> with PEFT's key names,
/// <c>base_model.model.&lt;module&gt;.lora_A.weight</c> [r, in] and <c>.lora_B.weight</c> [out, r], where &lt;module&gt; is the
/// Hugging Face name of the adapted weight without <c>.weight</c> (from the same <see cref="HfTensorMap"/> the model is
/// written with). The toolchain's adapters carry the training scale in B, so <c>lora_alpha</c> = <c>r</c> (PEFT's scale 1).
/// </summary>
internal static class PeftAdapter
{
    private const string Prefix = "base_model.model.";

    public static void Write(string folder, HfTensorMap map, HfAdapter adapter)
    {
        Directory.CreateDirectory(folder);
        var moduleOf = map.Entries.Where(e => e.Parts.Count == 1).ToDictionary(e => e.Parts[0].Name, e => e.HfName[..^".weight".Length], StringComparer.Ordinal);
        var tensors = new List<SafeTensorsWriter.Tensor>();
        var modules = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (name, (shape, values)) in adapter.Tensors)
        {
            var (weight, factor) = name.EndsWith(".lora_A", StringComparison.Ordinal) ? (name[..^7], "lora_A")
                : name.EndsWith(".lora_B", StringComparison.Ordinal) ? (name[..^7], "lora_B")
                : throw new InvalidDataException($"Adapter '{adapter.Name}' has '{name}', which is neither a lora_A nor a lora_B tensor.");
            if (!moduleOf.TryGetValue(weight, out var module))
                throw new NotSupportedException(map.OurTensors.Any(p => p.Name == weight)
                    ? $"Adapter '{adapter.Name}' adapts '{weight}', which {HfFamilies.ClassName(map.Family)} fuses with other projections; PEFT's layout has no LoRA of one part of a fused module."
                    : $"Adapter '{adapter.Name}' adapts '{weight}', which the model does not have.");
            modules.Add(module[(module.LastIndexOf('.') + 1)..]);
            var data = values;
            tensors.Add(new SafeTensorsWriter.Tensor($"{Prefix}{module}.{factor}.weight", "F32", shape, s => SafeTensorsWriter.WriteFloat32(s, data)));
        }
        SafeTensorsWriter.Write(Path.Combine(folder, HfLayout.AdapterWeights), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["r"] = adapter.Rank,
            ["lora_alpha"] = adapter.Rank,
            ["lora_dropout"] = 0.0,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["use_rslora"] = false,
            ["use_dora"] = false,
            ["init_lora_weights"] = true,
            ["target_modules"] = new JsonArray(modules.Select(m => (JsonNode)m).ToArray()),
            ["modules_to_save"] = null,
            ["base_model_name_or_path"] = "..",
        };
        File.WriteAllText(Path.Combine(folder, HfLayout.AdapterConfig), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", new UTF8Encoding(false));
    }
}
