using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Weaving.Benchmarks.WholeProcess;

/// <summary>One whole run of a program as a user starts it (<c>dotnet App.dll</c>): wall time, CPU time, peak memory.</summary>
public sealed record ProcessMeasurement(double WallSeconds, double CpuSeconds, double PeakMiB, int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// Runs a program under GNU time (<c>/usr/bin/time</c>), which reports the child's peak resident memory; the CPU seconds
/// come from this process's <c>getrusage(RUSAGE_CHILDREN)</c>, to the microsecond, before and after; the wall time from
/// a stopwatch around the whole start-to-exit.
/// </summary>
public static class ProcessTimer
{
    const string GnuTime = "/usr/bin/time";

    public static bool Available(out string why)
    {
        why = File.Exists(GnuTime) ? "" : $"{GnuTime} is missing (Debian package 'time'): it reports a child's peak memory.";
        return why.Length == 0;
    }

    public static ProcessMeasurement Run(string dll, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var report = Path.GetTempFileName();
        try
        {
            var info = new ProcessStartInfo(GnuTime)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Path.GetDirectoryName(dll)!,
            };
            foreach (var a in (string[])["-o", report, "-f", "%M", "dotnet", dll, .. arguments]) info.ArgumentList.Add(a);
            info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            info.Environment.Remove("WEAVING_INLINE");
            info.Environment.Remove("WEAVING_TRACE");
            foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;

            var cpuBefore = ChildrenCpuSeconds();
            var start = Stopwatch.GetTimestamp();
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            var wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var cpu = ChildrenCpuSeconds() - cpuBefore;
            var peakKb = File.ReadLines(report).Select(l => l.Trim()).LastOrDefault(l => l.Length > 0 && l.All(char.IsAsciiDigit));
            return new ProcessMeasurement(wall, cpu, peakKb is null ? double.NaN : long.Parse(peakKb) / 1024.0, process.ExitCode,
                output.Result, error.Result);
        }
        finally
        {
            File.Delete(report);
        }
    }

    // getrusage(RUSAGE_CHILDREN): user + system time of every child this process has waited for, and theirs.
    static double ChildrenCpuSeconds()
    {
        if (getrusage(-1, out var usage) != 0) return double.NaN;
        return usage.UserSeconds + usage.UserMicroseconds / 1e6 + usage.SystemSeconds + usage.SystemMicroseconds / 1e6;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct RUsage
    {
        public long UserSeconds, UserMicroseconds, SystemSeconds, SystemMicroseconds;
        public long MaxRss, Ixrss, Idrss, Isrss, Minflt, Majflt, Nswap, Inblock, Oublock, Msgsnd, Msgrcv, Nsignals, Nvcsw, Nivcsw;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int getrusage(int who, out RUsage usage);
}
