using System.Diagnostics;

namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// CPU seconds used by processes over a stretch of time, from /proc: where a broker run's time goes (the broker, the
/// group hosts, the source, this process). Two cores are shared by all of them, so CPU seconds per event bound throughput.
/// </summary>
public static class CpuAccounting
{
    static readonly double ticksPerSecond = 100; // USER_HZ on Linux

    /// <summary>User + system CPU seconds of the process <paramref name="pid"/> so far, or null if it is gone.</summary>
    public static double? SecondsOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which is in parentheses and may hold spaces): utime is the 12th, stime the 13th.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (double.Parse(fields[11]) + double.Parse(fields[12])) / ticksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The broker's Erlang VM, when it runs on this machine.</summary>
    public static int? BrokerPid() =>
        Process.GetProcessesByName("beam.smp").Select(p => p.Id).Cast<int?>().FirstOrDefault();

    /// <summary>CPU seconds of all children of this process that have exited and been waited for (the source runs).</summary>
    public static double ChildrenSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Environment.ProcessId}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // cutime and cstime: the 14th and 15th fields.
        return (double.Parse(fields[13]) + double.Parse(fields[14])) / ticksPerSecond;
    }
}
