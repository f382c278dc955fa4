// Inline MSBuild task (compiled by RoslynCodeTaskFactory from TorchSharpNativeFix.targets).
// Why it exists: see build/README.md. In short, TorchSharp 0.107's libLibTorchSharp.so declares a need
// for GLIBCXX_3.4.32 only for a link-time marker symbol; marking that need "weak" in a private copy lets
// the loader accept the library on hosts whose libstdc++ stops at an older version.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenElfSymbolVersion : Task
{
    const uint ShtGnuVerdef = 0x6ffffffd;
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    /// <summary>Native libraries as the SDK resolved them (in the NuGet cache; never written).</summary>
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    /// <summary>Where patched copies go (the project's obj folder); each keeps its relative sub path.</summary>
    [Required] public string IntermediateDirectory { get; set; } = "";
    [Required] public string VersionName { get; set; } = "";
    /// <summary>The host's C++ runtime; if it defines VersionName nothing needs patching. Probed when empty.</summary>
    public string HostLibrary { get; set; } = "";
    /// <summary>Items to use instead of Files: the patched copy, or the original when no patch is needed.</summary>
    [Output] public ITaskItem[] Result { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        string host = string.IsNullOrEmpty(HostLibrary) ? FindHostLibrary() : HostLibrary;
        if (host == null || DefinesVersion(File.ReadAllBytes(host), VersionName))
        {
            // A newer libstdc++ (or a host without one we can find): the original loads as is.
            Result = Files;
            return true;
        }
        var result = new List<ITaskItem>();
        foreach (var item in Files)
        {
            string source = item.GetMetadata("FullPath");
            string sub = item.GetMetadata("DestinationSubDirectory");
            if (string.IsNullOrEmpty(sub)) sub = Path.GetDirectoryName(item.GetMetadata("RelativePath")) ?? "";
            string target = Path.GetFullPath(Path.Combine(IntermediateDirectory, sub, Path.GetFileName(source)));
            // Incremental: a patched copy newer than its source is up to date, so an unchanged build writes nothing.
            if (!File.Exists(target) || File.GetLastWriteTimeUtc(target) < File.GetLastWriteTimeUtc(source))
            {
                byte[] image = File.ReadAllBytes(source);
                int patched = MarkNeedWeak(image, VersionName);
                if (patched < 0) { Log.LogError("AFM9001: {0} is not a little-endian ELF64 file.", source); return false; }
                Directory.CreateDirectory(Path.GetDirectoryName(target));
                string temp = target + ".tmp";
                File.WriteAllBytes(temp, image);
                // Rename over the old copy: a killed build never leaves half a library behind.
                if (File.Exists(target)) File.Replace(temp, target, null); else File.Move(temp, target);
                Log.LogMessage(MessageImportance.Normal, "Marked {0} need(s) of {1} weak in {2}", patched, VersionName, target);
            }
            var copy = new TaskItem(target);
            item.CopyMetadataTo(copy);
            copy.SetMetadata("AfmOriginalPath", source);
            result.Add(copy);
        }
        Result = result.ToArray();
        return true;
    }

    static string FindHostLibrary()
    {
        string[] dirs = { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                          "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" };
        foreach (string dir in dirs)
        {
            string path = Path.Combine(dir, "libstdc++.so.6");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    static bool IsElf64Le(byte[] b) =>
        b.Length > 64 && b[0] == 0x7f && b[1] == (byte)'E' && b[2] == (byte)'L' && b[3] == (byte)'F' && b[4] == 2 && b[5] == 1;

    static ushort U16(byte[] b, long o) => BitConverter.ToUInt16(b, (int)o);
    static uint U32(byte[] b, long o) => BitConverter.ToUInt32(b, (int)o);
    static long U64(byte[] b, long o) => (long)BitConverter.ToUInt64(b, (int)o);

    static string CString(byte[] b, long o)
    {
        int end = (int)o;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)o, end - (int)o);
    }

    /// <summary>Yields (section offset, linked string table offset, entry count) for each section of a type.</summary>
    static IEnumerable<(long Offset, long StrTab, uint Count)> Sections(byte[] b, uint type)
    {
        long shoff = U64(b, 0x28);
        int shentsize = U16(b, 0x3A), shnum = U16(b, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (U32(b, sh + 4) != type) continue;
            long link = shoff + (long)U32(b, sh + 0x28) * shentsize;
            yield return (U64(b, sh + 0x18), U64(b, link + 0x18), U32(b, sh + 0x2C));
        }
    }

    /// <summary>Sets VER_FLG_WEAK on every Vernaux named <paramref name="version"/>; -1 if not ELF64 LE.</summary>
    internal static int MarkNeedWeak(byte[] b, string version)
    {
        if (!IsElf64Le(b)) return -1;
        int patched = 0;
        foreach (var (offset, strtab, count) in Sections(b, ShtGnuVerneed))
        {
            long vn = offset;
            for (uint n = 0; n < count; n++)
            {
                // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32
                long aux = vn + U32(b, vn + 8);
                for (int a = 0; a < U16(b, vn + 2); a++)
                {
                    // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32
                    if (CString(b, strtab + U32(b, aux + 8)) == version)
                    {
                        ushort flags = (ushort)(U16(b, aux + 4) | VerFlgWeak);
                        b[aux + 4] = (byte)flags; b[aux + 5] = (byte)(flags >> 8);
                        patched++;
                    }
                    aux += U32(b, aux + 12);
                }
                vn += U32(b, vn + 12);
            }
        }
        return patched;
    }

    /// <summary>True when the library's version definitions (.gnu.version_d) include <paramref name="version"/>.</summary>
    internal static bool DefinesVersion(byte[] b, string version)
    {
        if (!IsElf64Le(b)) return true; // not something we understand: assume fine rather than patch blindly
        foreach (var (offset, strtab, count) in Sections(b, ShtGnuVerdef))
        {
            long vd = offset;
            for (uint n = 0; n < count; n++)
            {
                // Elf64_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32, vd_aux u32, vd_next u32
                // The first Verdaux names the version itself.
                if (CString(b, strtab + U32(b, vd + U32(b, vd + 12))) == version) return true;
                vd += U32(b, vd + 16);
            }
        }
        return false;
    }
}
