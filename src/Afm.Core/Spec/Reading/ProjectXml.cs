using System.Xml;
using System.Xml.Linq;
using Afm.Core.Diagnostics;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// The XML of the project files, re-read with line information because MSBuild's evaluated items carry
/// none. Each file is parsed at most once; a file that is gone or unparsable simply yields no locations.
/// </summary>
internal sealed class ProjectXml
{
    private readonly Dictionary<string, XDocument?> _documents = new(StringComparer.Ordinal);

    public XDocument? Load(string file)
    {
        if (_documents.TryGetValue(file, out var cached)) return cached;
        XDocument? document = null;
        try
        {
            document = XDocument.Load(file, LoadOptions.SetLineInfo);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or XmlException or ArgumentException)
        {
            // MSBuild read this file a moment ago; if we cannot, locations degrade to the file name.
        }
        _documents[file] = document;
        return document;
    }

    /// <summary>Elements with this local name (any namespace: old projects use the MSBuild namespace).</summary>
    public static IEnumerable<XElement> Named(XDocument document, string localName) =>
        document.Descendants().Where(e => string.Equals(e.Name.LocalName, localName, StringComparison.OrdinalIgnoreCase));

    public static XAttribute? Attribute(XElement element, string localName) =>
        element.Attributes().FirstOrDefault(a => string.Equals(a.Name.LocalName, localName, StringComparison.OrdinalIgnoreCase));

    public static XElement? Child(XElement element, string localName) =>
        element.Elements().LastOrDefault(e => string.Equals(e.Name.LocalName, localName, StringComparison.OrdinalIgnoreCase));

    /// <summary>True when the element or an enclosing group has a Condition, so its items may legitimately be absent.</summary>
    public static bool IsConditional(XElement element) =>
        element.AncestorsAndSelf().Any(e => Attribute(e, "Condition") is not null);

    /// <summary>Where an element starts: the column of its '&lt;'.</summary>
    public static SourceLocation At(string file, XElement element)
    {
        var info = (IXmlLineInfo)element;
        // The reader reports the column of the element's name, one past the '<'.
        return info.HasLineInfo() ? new SourceLocation(file, info.LineNumber, Math.Max(1, info.LinePosition - 1)) : SourceLocation.FileOnly(file);
    }

    /// <summary>Where an attribute starts: the column of its name.</summary>
    public static SourceLocation At(string file, XAttribute attribute)
    {
        var info = (IXmlLineInfo)attribute;
        return info.HasLineInfo() ? new SourceLocation(file, info.LineNumber, info.LinePosition) : SourceLocation.FileOnly(file);
    }
}
