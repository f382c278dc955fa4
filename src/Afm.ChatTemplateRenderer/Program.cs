using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntimeGenAI;

// One JSON object a line on stdin, one answer a line on stdout (Afm.Serving's ChatTemplateRenderer speaks the other side):
// first {"bos", "eos"} -> {"ready": true}; then {"template", "messages" (a JSON text), "add_generation_prompt"} ->
// {"text"} or {"error"} (the template's own message).
var input = new StreamReader(Console.OpenStandardInput(), new System.Text.UTF8Encoding(false));
var output = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
Tokenizer? renderer = null;
while (input.ReadLine() is { } line)
{
    JsonObject answer;
    try
    {
        var request = JsonNode.Parse(line)!.AsObject();
        if (renderer is null)
        {
            renderer = Renderer.Load((string?)request["bos"] ?? "", (string?)request["eos"] ?? "");
            answer = new JsonObject { ["ready"] = true };
        }
        else
            answer = new JsonObject
            {
                ["text"] = renderer.ApplyChatTemplate((string)request["template"]!, (string)request["messages"]!, "", (bool)request["add_generation_prompt"]!),
            };
    }
    catch (Exception e) when (e is OnnxRuntimeGenAIException or JsonException or InvalidOperationException)
    {
        answer = new JsonObject { ["error"] = e.Message };
    }
    output.WriteLine(answer.ToJsonString());
}

/// <summary>
/// GenAI reads a template's <c>bos_token</c>/<c>eos_token</c> from a tokenizer folder, so a tiny one is written for it
/// (a three-token vocabulary: rendering never tokenizes) and removed once loaded.
/// </summary>
internal static class Renderer
{
    public static Tokenizer Load(string bos, string eos)
    {
        var folder = Path.Combine(Path.GetTempPath(), "afm-chat-template-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            var vocabulary = new JsonObject { ["\u0001"] = 0 };
            var added = new JsonArray();
            foreach (var token in new[] { bos, eos }.Where(t => t.Length > 0).Distinct())
            {
                vocabulary[token] = vocabulary.Count;
                added.Add(new JsonObject { ["id"] = vocabulary.Count - 1, ["content"] = token, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true });
            }
            var tokenizer = new JsonObject
            {
                ["version"] = "1.0", ["added_tokens"] = added,
                ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocabulary, ["merges"] = new JsonArray(), ["fuse_unk"] = false, ["byte_fallback"] = false },
            };
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer.ToJsonString());
            // The template itself comes with every render; this one is never used.
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), new JsonObject
            {
                ["bos_token"] = bos, ["eos_token"] = eos, ["tokenizer_class"] = "PreTrainedTokenizerFast", ["chat_template"] = "",
            }.ToJsonString());
            // GenAI opens a tokenizer folder through its config; only the keys its reader requires.
            File.WriteAllText(Path.Combine(folder, "genai_config.json"), new JsonObject
            {
                ["model"] = new JsonObject { ["type"] = "llama", ["vocab_size"] = vocabulary.Count, ["context_length"] = 1, ["bos_token_id"] = 0, ["eos_token_id"] = 0, ["pad_token_id"] = 0 },
            }.ToJsonString());
            return new Tokenizer(folder);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
