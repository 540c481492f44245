using System.Globalization;
using Weaving.Benchmarks.Throughput;
using System.Text;
using System.Text.RegularExpressions;

namespace Weaving.Benchmarks.WholeProcess;

/// <summary>A program's woven and unwoven builds: the woven dll, and the compiler's output kept in <c>unwoven/</c> beside it.</summary>
public sealed record ProgramBuild(string Name, string WovenDll, string UnwovenDll, IReadOnlyList<string> Arguments)
{
    /// <summary>Every program of TestAssemblies/ that the build wove and kept an unwoven copy of.</summary>
    public static IReadOnlyList<ProgramBuild> TestAssemblies()
    {
        var builds = new List<ProgramBuild>();
        foreach (var directory in Directory.GetDirectories(Path.Combine(RepoPaths.Root, "TestAssemblies")).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(directory);
            var output = Path.Combine(directory, "bin", RepoPaths.Configuration, "net10.0");
            var build = new ProgramBuild(name, Path.Combine(output, name + ".dll"), Path.Combine(output, "unwoven", name + ".dll"), []);
            if (File.Exists(build.WovenDll) && File.Exists(build.UnwovenDll)) builds.Add(build);
        }
        return builds;
    }

    /// <summary>A woven program given by path; its unwoven build is expected in <c>unwoven/</c> beside it.</summary>
    public static ProgramBuild FromPath(string wovenDll, IReadOnlyList<string> arguments)
    {
        var full = Path.GetFullPath(wovenDll);
        var unwoven = Path.Combine(Path.GetDirectoryName(full)!, "unwoven", Path.GetFileName(full));
        if (!File.Exists(full)) throw new FileNotFoundException($"{full} does not exist.");
        if (!File.Exists(unwoven))
            throw new FileNotFoundException($"{unwoven} does not exist: keep the compiler's output there to compare against (TestAssemblies/Directory.Build.targets shows how).");
        return new ProgramBuild(Path.GetFileNameWithoutExtension(full), full, unwoven, arguments);
    }
}

/// <summary>One program's figures: medians of the alternating runs, and what the runtime decided.</summary>
public sealed record ProgramComparison(ProgramBuild Build, int Runs, ProcessMeasurement Unwoven, ProcessMeasurement Woven,
    string Decisions, bool SameOutput)
{
    public double WallRatio => Woven.WallSeconds / Unwoven.WallSeconds;
    public double CpuRatio => Woven.CpuSeconds / Unwoven.CpuSeconds;
    public double ExtraPeakMiB => Woven.PeakMiB - Unwoven.PeakMiB;
    public bool MeetsTargets => WallRatio <= WholeProcessComparison.WallTarget && ExtraPeakMiB <= WholeProcessComparison.ExtraMemoryTarget;
}

/// <summary>
/// <c>--whole-process [--runs N] [App.dll [args…]]</c>: every program of TestAssemblies/ (or the one given), started as a
/// user starts it, woven and unwoven in turn, N times each; medians of wall time, CPU time and peak memory, the ratios,
/// the runtime's decisions (one more woven run with WEAVING_TRACE=1, not timed) and the machine's load.
/// </summary>
public static partial class WholeProcessComparison
{
    public const double WallTarget = 1.1;
    public const double ExtraMemoryTarget = 3.0;

    // A short program's ratio moves by a tenth between two sessions on this machine (a burst of load is a large part of
    // 70 ms): it gets more runs, up to about this many seconds of its own (unwoven) wall time, at most MaxRuns.
    const double SecondsPerProgram = 2.0;
    const int MaxRuns = 25;

    /// <param name="runs">Runs of each variant at least; a short program gets more (<see cref="SecondsPerProgram"/>).</param>
    public static string Run(IReadOnlyList<ProgramBuild> programs, int runs, string command)
    {
        var loadBefore = LoadAverage();
        var started = DateTime.UtcNow;
        var results = new List<ProgramComparison>();
        foreach (var program in programs)
        {
            // One run of each first: the disk cache and the JIT's own files warm for both alike.
            var first = ProcessTimer.Run(program.UnwovenDll, program.Arguments);
            ProcessTimer.Run(program.WovenDll, program.Arguments);
            var rounds = Math.Clamp((int)Math.Ceiling(SecondsPerProgram / Math.Max(first.WallSeconds, 0.001)), runs, Math.Max(runs, MaxRuns));
            var unwoven = new List<ProcessMeasurement>();
            var woven = new List<ProcessMeasurement>();
            for (var i = 0; i < rounds; i++)
            {
                // Alternating, and which goes first alternates too: a burst of load hits both alike.
                if (i % 2 == 0)
                {
                    unwoven.Add(ProcessTimer.Run(program.UnwovenDll, program.Arguments));
                    woven.Add(ProcessTimer.Run(program.WovenDll, program.Arguments));
                }
                else
                {
                    woven.Add(ProcessTimer.Run(program.WovenDll, program.Arguments));
                    unwoven.Add(ProcessTimer.Run(program.UnwovenDll, program.Arguments));
                }
            }
            var traced = ProcessTimer.Run(program.WovenDll, program.Arguments, new Dictionary<string, string> { ["WEAVING_TRACE"] = "1" });
            var comparison = new ProgramComparison(program, rounds, Median(unwoven), Median(woven), Decisions(traced),
                unwoven.All(u => woven.All(w => w.StandardOutput == u.StandardOutput && w.ExitCode == u.ExitCode)));
            results.Add(comparison);
            Console.WriteLine($"{program.Name,-20} wall {comparison.WallRatio,5:F2}x  cpu {comparison.CpuRatio,5:F2}x  peak {comparison.ExtraPeakMiB,+6:+0.0;-0.0} MiB  {comparison.Decisions}");
        }
        return Table(results, command, started, loadBefore, LoadAverage());
    }

    static string Table(List<ProgramComparison> results, string command, DateTime started, string loadBefore, string loadAfter)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"`{command}`, {started:yyyy-MM-dd HH:mm} UTC: each program started as `dotnet App.dll`, woven and unwoven in turn, " +
                           $"{results.Min(r => r.Runs)} to {results.Max(r => r.Runs)} runs each (a short program as many as about " +
                           $"{SecondsPerProgram:0.#} s of it takes, at most {MaxRuns}) after one untimed run of both; medians. All ratios are from this one run.");
        md.AppendLine();
        md.AppendLine(inv, $"- machine: {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        md.AppendLine(inv, $"- load average (1 min) before: {loadBefore}, after: {loadAfter} (a shared machine: other work competes for the cores)");
        md.AppendLine("- wall: start to exit (stopwatch); CPU: user + system of the process (getrusage of the children); peak: maximum resident set (GNU time)");
        md.AppendLine("- decisions: what the in-memory runtime decided per group, from one more woven run with `WEAVING_TRACE=1` (not timed): " +
                      "route, messages that ran inline of those received, worker threads started");
        md.AppendLine();
        md.AppendLine("| program | unwoven wall (s) | woven wall (s) | wall | CPU | unwoven peak (MiB) | woven peak | same output | decisions | wall <= 1.1x, peak <= +3 MiB |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|---|---|");
        foreach (var r in results)
            md.AppendLine(inv, $"| {r.Build.Name} | {r.Unwoven.WallSeconds:F3} | {r.Woven.WallSeconds:F3} | {r.WallRatio:F2}x | {r.CpuRatio:F2}x | " +
                               $"{r.Unwoven.PeakMiB:F1} | {r.ExtraPeakMiB:+0.0;-0.0} | {(r.SameOutput ? "yes" : "**no**")} | {r.Decisions} | {(r.MeetsTargets ? "yes" : "**no**")} |");
        var met = results.Count(r => r.MeetsTargets);
        md.AppendLine();
        md.AppendLine(inv, $"{met} of {results.Count} programs meet both targets; wall ratios from {results.Min(r => r.WallRatio):F2}x to {results.Max(r => r.WallRatio):F2}x " +
                           $"(median {Median(results.Select(r => r.WallRatio)):F2}x), peak memory from {results.Min(r => r.ExtraPeakMiB):+0.0;-0.0} to {results.Max(r => r.ExtraPeakMiB):+0.0;-0.0} MiB.");
        return md.ToString();
    }

    // "group OnLine: inline, …, 20000 messages (20000 inline), 0 switches, 0 worker threads" -> "OnLine inline 20000/20000 0t"
    static string Decisions(ProcessMeasurement traced)
    {
        var lines = TraceLine().Matches(traced.StandardError);
        return lines.Count == 0 ? "(no trace)" : string.Join("; ", lines.Select(m =>
            $"{m.Groups["group"].Value} {m.Groups["route"].Value} {m.Groups["inline"].Value}/{m.Groups["messages"].Value}, {m.Groups["threads"].Value} thr"));
    }

    [GeneratedRegex(@"weaving: group (?<group>\S+): (?<route>inline|hop), handler \S+ µs, hop \S+ µs, (?<messages>\d+) messages \((?<inline>\d+) inline\), \d+ switches, (?<threads>\d+) worker threads")]
    private static partial Regex TraceLine();

    static ProcessMeasurement Median(List<ProcessMeasurement> runs) => new(
        Median(runs.Select(r => r.WallSeconds)), Median(runs.Select(r => r.CpuSeconds)), Median(runs.Select(r => r.PeakMiB)),
        runs[0].ExitCode, runs[0].StandardOutput, runs[0].StandardError);

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
}
