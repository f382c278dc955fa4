namespace Afm.Core.Spec;

/// <summary>
/// Devices a project can name without writing their numbers. specs/profiling.md gives the source of every
/// number, and says which ones are published figures and which are our estimates; change them there first.
/// </summary>
public static class BuiltInDeviceProfiles
{
    /// <summary>The machine that runs the build: the profile stage measures it (specs/profiling.md, "host").</summary>
    public const string Host = "host";

    /// <summary>A phone neural engine of the Apple A17 Pro class, running fp16.</summary>
    public static readonly DeviceProfileSpec PhoneNpu = new()
    {
        Name = "phone-npu",
        MemoryBandwidthGBps = 51.2,   // LPDDR5-6400 on a 64-bit bus: 6400e6 transfers/s x 8 bytes.
        Int8GOps = 35_000,            // Apple's announced 35 trillion operations per second (A17 Pro, 2023).
        Fp16GFlops = 17_500,          // Estimate: half the int8 rate, as the A16's 17 TOPS were fp16.
        Fp32GFlops = 0,               // The neural engine has no fp32 path.
        ComputeType = ComputeType.Fp16,
        LaunchOverheadUs = 5,         // Estimate (no published figure).
        EnergyPerBytePj = 32,         // ~4 pJ/bit for LPDDR5 access and I/O (order of magnitude from the literature).
        EnergyPerOpPj = 0.2,          // Horowitz 2014 fp16 FMA 1.5 pJ at 45 nm, /2 per FLOP, /~4 for a 3 nm-class process.
        StaticPowerMw = 0,
        MemoryGB = 8,                 // iPhone 15 Pro RAM.
    };

    /// <summary>A laptop x86 CPU: 8 cores at 3 GHz with AVX2 FMA, dual-channel DDR5-5600, fp32.</summary>
    public static readonly DeviceProfileSpec LaptopCpu = new()
    {
        Name = "laptop-cpu",
        MemoryBandwidthGBps = 89.6,   // DDR5-5600 x 2 channels x 8 bytes.
        Fp32GFlops = 768,             // 8 cores x 3 GHz x 2 FMA units x 8 fp32 lanes x 2 FLOPs.
        Fp16GFlops = 768,             // AVX2 has no fp16 arithmetic: fp16 is converted and computed in fp32.
        Int8GOps = 768,               // Estimate: one dequantized weight per fp32 lane per cycle.
        ComputeType = ComputeType.Fp32,
        LaunchOverheadUs = 2,         // Estimate: a CPU runtime's per-node dispatch.
        EnergyPerBytePj = 80,         // Estimate: ~10 pJ/bit for DDR5 (Horowitz 2014: 20-40 pJ/bit for DDR3).
        EnergyPerOpPj = 1.0,          // Horowitz 2014 fp32 FMA 4.6 pJ at 45 nm, /2 per FLOP, /~2.3 for a 7 nm-class process.
        StaticPowerMw = 0,
        MemoryGB = 16,
    };

    /// <summary>
    /// Placeholder numbers of <c>host</c> until the profile stage measures them: rates and overhead are measured;
    /// energy cannot be measured here, so it uses the laptop CPU's estimates.
    /// </summary>
    public static readonly DeviceProfileSpec HostBeforeCalibration = LaptopCpu with { Name = Host, Calibrate = true };

    public static IReadOnlyList<DeviceProfileSpec> All { get; } = [PhoneNpu, LaptopCpu, HostBeforeCalibration];

    public static DeviceProfileSpec? Find(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
}
