using System.Text.Json;
using System.Text.Json.Nodes;

namespace Afm.Interchange.Tests;

/// <summary>
/// llama.cpp, run by tests/peers/llama-cpp/peer.mjs under Node (node-llama-cpp's prebuilt CPU binaries). The first use
/// installs the package from the folder's package-lock.json (<c>npm ci</c>), so a fresh clone needs no manual step.
/// </summary>
internal static class LlamaCppPeer
{
    private static readonly Lazy<string> Folder = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    public static int[] Generate(string model, IReadOnlyList<int> prompt, int steps, string? lora = null) =>
        Ask(new JsonObject
        {
            ["op"] = "generate", ["model"] = model, ["prompt"] = new JsonArray(prompt.Select(i => (JsonNode)i).ToArray()),
            ["steps"] = steps, ["threads"] = 1, ["lora"] = lora,
        })["tokens"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray();

    public static int[] Tokenize(string model, string text) =>
        Ask(new JsonObject { ["op"] = "tokenize", ["model"] = model, ["text"] = text })["ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray();

    private static JsonNode Ask(JsonObject request)
    {
        var (code, stdout, stderr) = PeerProcess.Run("node", ["peer.mjs"], Folder.Value, request.ToJsonString(), TimeSpan.FromMinutes(3));
        if (code != 0) throw new InvalidOperationException($"llama.cpp peer failed ({code}):\n{stderr}\n{stdout}");
        return JsonNode.Parse(stdout.Trim().Split('\n')[^1])!;
    }

    private static string Install()
    {
        var folder = RepositoryPaths.Peer("llama-cpp");
        if (!File.Exists(Path.Combine(folder, "node_modules", "node-llama-cpp", "package.json")))
        {
            // The prebuilt binaries come as optional dependencies; the package's postinstall only offers to build
            // from source, which build: "never" in peer.mjs rules out anyway.
            var (code, stdout, stderr) = PeerProcess.Run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], folder, null, TimeSpan.FromMinutes(15));
            if (code != 0) throw new InvalidOperationException($"npm ci in {folder} failed ({code}):\n{stderr}\n{stdout}");
        }
        return folder;
    }
}
