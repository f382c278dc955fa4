using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// MSBuild's file wildcards (<c>*</c> within a directory, <c>?</c> one character, <c>**</c> any depth),
/// used only to tell which Include pattern produced an evaluated item. MSBuild itself did the expansion;
/// we never enumerate the disk here.
/// </summary>
internal static class MsBuildGlob
{
    public static bool HasWildcard(string pattern) => pattern.IndexOfAny(['*', '?']) >= 0;

    /// <summary>A pattern we cannot evaluate ourselves (it refers to properties, items or metadata).</summary>
    public static bool IsDynamic(string pattern) =>
        pattern.Contains("$(", StringComparison.Ordinal) || pattern.Contains("@(", StringComparison.Ordinal)
        || pattern.Contains("%(", StringComparison.Ordinal);

    public static string Normalize(string path) => path.Replace('\\', '/');

    /// <summary>Resolves a relative pattern or path against the project directory (MSBuild's base for items).</summary>
    public static string Absolute(string projectDirectory, string pathOrPattern)
    {
        var normalized = Normalize(pathOrPattern);
        try
        {
            return Normalize(Path.GetFullPath(normalized, projectDirectory));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return normalized;
        }
    }

    // A corpus can have thousands of files, each tested against the same few patterns.
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    public static bool Matches(string absolutePattern, string absolutePath) =>
        Compiled.GetOrAdd(absolutePattern, ToRegex).IsMatch(Normalize(absolutePath));

    private static Regex ToRegex(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                // "**/" may also match no directory at all, as in MSBuild.
                var slash = i + 2 < pattern.Length && pattern[i + 2] == '/';
                regex.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else if (c == '*') regex.Append("[^/]*");
            else if (c == '?') regex.Append("[^/]");
            else regex.Append(Regex.Escape(c.ToString()));
        }
        // Case-insensitive: being forgiving can only mis-attribute a location, never change the build.
        return new Regex(regex.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }
}
