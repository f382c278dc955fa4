using System.Text.Json.Nodes;
using Afm.Interchange.Tests;

namespace Afm.Serving.Tests;

/// <summary>The real chat templates committed as test data (ChatTemplates/*.json, each naming its source).</summary>
internal static class ChatTemplateFiles
{
    public static string Folder => Path.Combine(RepositoryPaths.Root, "tests", "Afm.Serving.Tests", "ChatTemplates");

    public static IEnumerable<string> Names => Directory.GetFiles(Folder, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)!).Order();

    public static (string Template, string? Bos, string? Eos) Read(string name)
    {
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, name + ".json")))!;
        return ((string)file["chat_template"]!, (string?)file["bos_token"], (string?)file["eos_token"]);
    }
}
