using System.Xml.Linq;

/// <summary>
/// The bench's project: samples/tiny-afm with its own QuantizationPlan, DeviceProfile and Adapter items (and the comment
/// right above each) replaced by the bench's. The sample ships those items for its main job; the bench needs its own
/// plan and ranks, and two plans in one project would be AFM4001. Training items stay as the sample has them, so the
/// bench trains exactly the sample's model.
/// </summary>
internal static class BenchProject
{
    private static readonly string[] Replaced = ["QuantizationPlan", "DeviceProfile", "Adapter"];

    public static string WithItems(string sampleProject, string items)
    {
        var document = XDocument.Parse(sampleProject, LoadOptions.PreserveWhitespace);
        var project = document.Root!;
        foreach (var element in project.Descendants().Where(e => Replaced.Contains(e.Name.LocalName)).ToList())
        {
            if (element.PreviousNode is XText { Value: var space } gap && string.IsNullOrWhiteSpace(space) && gap.PreviousNode is XComment comment)
            {
                if (comment.PreviousNode is XText { Value: var before } indent && string.IsNullOrWhiteSpace(before)) indent.Remove();
                comment.Remove();
                gap.Remove();
            }
            else if (element.PreviousNode is XText { Value: var blank } indent && string.IsNullOrWhiteSpace(blank))
            {
                indent.Remove();
            }
            element.Remove();
        }
        var itemGroup = project.Elements("ItemGroup").Last();
        foreach (var item in XElement.Parse($"<ItemGroup>{items}</ItemGroup>").Elements())
        {
            itemGroup.LastNode!.AddBeforeSelf(new XText("\n    "), item);
        }
        return document.ToString(SaveOptions.DisableFormatting);
    }
}
