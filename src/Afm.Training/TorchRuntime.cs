using System.Runtime.InteropServices;
using Afm.Core.Spec;
using static TorchSharp.torch;

namespace Afm.Training;

/// <summary>
/// Process-wide settings for libtorch. They are read by the native libraries once, when libtorch loads or first
/// computes, so <see cref="PrepareProcess"/> must run before the first torch call of the process: the CLI's
/// numeric stages call <see cref="UseThreads"/> with the spec's settings before any torch work, and test
/// assemblies call <see cref="PrepareProcess"/> from a module initializer. A process has one determinism mode.
/// </summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static DeterminismMode? prepared;

    /// <summary>The mode this process runs in, or null before <see cref="PrepareProcess"/>.</summary>
    public static DeterminismMode? Determinism => prepared;

    /// <summary>
    /// Makes idle OpenMP threads sleep instead of spin (OMP_WAIT_POLICY=PASSIVE, unless the user set it), and pins the
    /// numeric libraries' kernels for <paramref name="determinism"/> (<see cref="PortableKernels"/>).
    /// Measured on the 2-core build machines while other builds run: libgomp's default spinning made a
    /// micro model's step 30-50x slower and a 1M-parameter model 4.7x slower with 2 threads; passive waiting
    /// costs nothing measurable when the machine is idle. libgomp reads the variable once, when libtorch is
    /// loaded, and .NET's Environment.SetEnvironmentVariable does not reach native getenv, hence setenv(3).
    /// Without a mode the process keeps the one it has, or takes <see cref="DeterminismMode.Portable"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The process already runs in the other mode: the libraries cannot switch.</exception>
    public static void PrepareProcess(DeterminismMode? determinism = null)
    {
        lock (Gate)
        {
            if (prepared is { } current)
            {
                if (determinism is { } asked && asked != current)
                    throw new InvalidOperationException($"This process already runs with {current} determinism; libtorch reads its kernel settings once, so {asked} needs a new process.");
                return;
            }
            var mode = determinism ?? DeterminismMode.Portable;
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            {
                if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null) _ = SetEnv("OMP_WAIT_POLICY", "PASSIVE", 1);
                if (mode == DeterminismMode.Portable)
                    foreach (var (name, value, _) in PortableKernels.Settings) _ = SetEnv(name, value, 1);
            }
            prepared = mode;
        }
    }

    /// <summary>Threads libtorch uses for intra-op parallelism and the determinism mode; both part of the determinism contract.</summary>
    public static void UseThreads(int threads, DeterminismMode determinism)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be at least 1.");
        PrepareProcess(determinism);
        set_num_threads(threads);
    }

    /// <summary>
    /// Gives memory the process no longer uses back to the system, between the phases of a stage that holds a large model:
    /// the garbage collector's free regions (an aggressive, compacting collection decommits them) and glibc's free heap pages
    /// (malloc_trim: libtorch frees tensors below glibc's mmap threshold, which grows to 32 MB after a large free, into the
    /// heap, where free pages can stay resident). Measured on 1 layer of Qwen3-0.6B's shapes (bench/Afm.Bench.Import,
    /// 2026-12-03): after the quantize stage's validation phase it took the resident memory from 1.48 to 1.10 GB. Values
    /// are untouched: only unused pages are released.
    /// </summary>
    public static void ReleaseFreeMemory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (OperatingSystem.IsLinux())
        {
            try { _ = MallocTrim(0); }
            catch (EntryPointNotFoundException) { } // a C library other than glibc (musl): nothing to trim
        }
    }

    /// <summary>This process's resident memory (VmRSS) in bytes, or 0 where /proc is not there.</summary>
    public static long ResidentBytes()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int SetEnv(string name, string value, int overwrite);
}

/// <summary>
/// What <c>AfmDeterminism=portable</c> pins, and why (specs/afmproj.md). libtorch picks its kernels by the CPU it runs
/// on, and each choice sums in another order: on the micro model, an AMD EPYC with AVX-512 and a machine without it gave
/// quantization reports that differed in the 4th-5th digit. Each library below was measured to change the result on its
/// own (tests/Afm.Sdk.Tests/DeterminismTests.cs proves the pinned set against a simulated AVX2-only CPU).
/// </summary>
public static class PortableKernels
{
    public static IReadOnlyList<(string Name, string Value, string Why)> Settings { get; } =
    [
        // ATen's own vectorized kernels (reductions, softmax, elementwise math) come in 8- and 16-lane builds.
        ("ATEN_CPU_CAPABILITY", "avx2", "ATen's vectorized kernels: the AVX2 build on every CPU"),
        // MKL's GEMM dispatches by vendor as well as by instruction set; its documentation offers only COMPATIBLE (SSE2
        // without approximate reciprocals) as a branch that is the same on Intel and other x86 CPUs; STRICT also
        // removes the dependence on memory alignment.
        ("MKL_CBWR", "COMPATIBLE,STRICT", "MKL's matrix products: the one code branch Intel documents as identical across vendors"),
        // oneDNN's JIT kernels are vendor-neutral but widen with the CPU (AVX-512, AVX2-VNNI).
        ("ONEDNN_MAX_CPU_ISA", "AVX2", "oneDNN's kernels: at most AVX2"),
    ];
}
