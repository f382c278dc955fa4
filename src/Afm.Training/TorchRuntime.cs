using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Afm.Training;

/// <summary>
/// Process-wide settings for libtorch. Call <see cref="PrepareProcess"/> before the first torch call of the
/// process (the CLI: first thing in Main); Trainer calls it too, which helps only if torch is not loaded yet.
/// </summary>
public static class TorchRuntime
{
    private static int prepared;

    /// <summary>
    /// Makes idle OpenMP threads sleep instead of spin (OMP_WAIT_POLICY=PASSIVE, unless the user set it).
    /// Measured on the 2-core build machines while other builds run: libgomp's default spinning made a
    /// micro model's step 30-50x slower and a 1M-parameter model 4.7x slower with 2 threads; passive waiting
    /// costs nothing measurable when the machine is idle. libgomp reads the variable once, when libtorch is
    /// loaded, and .NET's Environment.SetEnvironmentVariable does not reach native getenv, hence setenv(3).
    /// Results are unchanged: the thread count (part of the determinism contract) stays what the spec says.
    /// </summary>
    public static void PrepareProcess()
    {
        if (Interlocked.Exchange(ref prepared, 1) == 1) return;
        if ((OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
            _ = SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
    }

    /// <summary>Threads libtorch uses for intra-op parallelism; part of the determinism contract.</summary>
    public static void UseThreads(int threads)
    {
        PrepareProcess();
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be at least 1.");
        set_num_threads(threads);
    }

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int SetEnv(string name, string value, int overwrite);
}
