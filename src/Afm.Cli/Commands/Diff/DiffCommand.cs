using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Runtime.Artifacts;

namespace Afm.Cli.Commands.Diff;

/// <summary>
/// <c>afm diff a.afmpkg b.afmpkg</c>: the entries added, removed and changed, and in changed JSON entries (manifest,
/// spec, reports) each value that differs: <c>  $.stages[0].finalValidationLoss: 2.0131 -> 2.0127</c>. Exit 0 either way;
/// the last line says whether the artifacts are identical.
/// </summary>
internal static class DiffCommand
{
    public static Command Create()
    {
        var before = new Argument<string>("old") { Description = "The first .afmpkg." };
        var after = new Argument<string>("new") { Description = "The .afmpkg to compare with it." };
        var command = new Command("diff", "Show which entries of two artifacts differ, and which numbers in their JSON reports.") { before, after };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var diff = ArtifactDiff.Compare(result.GetValue(before)!, result.GetValue(after)!);
            foreach (var name in diff.Removed) Console.WriteLine($"- {name}");
            foreach (var name in diff.Added) Console.WriteLine($"+ {name}");
            foreach (var change in diff.Changed)
            {
                Console.WriteLine($"~ {change.Name}");
                foreach (var value in change.Values) Console.WriteLine($"    {value.JsonPath}: {value.Old} -> {value.New}");
            }
            Console.WriteLine(diff.Identical ? "identical" : $"{diff.Changed.Count} changed, {diff.Added.Count} added, {diff.Removed.Count} removed");
            return 0;
        }));
        return command;
    }
}
