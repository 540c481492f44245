using System.Net.Sockets;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Environments;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Weaving.Benchmarks.Reporting;
using Weaving.Benchmarks.Throughput;

namespace Weaving.Benchmarks;

public static class Commands
{
    // The full run's results are the ones the README quotes; a short run writes beside them, not over them.
    static string ResultsDirectory(bool full) => Path.Combine(RepoPaths.Root, "benchmarks", "results", full ? "" : "short");

    public static int Usage()
    {
        Console.Error.WriteLine("""
            usage: dotnet run -c Release --project benchmarks -- <command>
              --short                 throughput (3 measured runs per case) and weaving time: a few minutes
              --full                  the same with 15 measured runs per case, and more weaving rounds
              --throughput [--full]   throughput only: results/table.md and results/throughput.svg
              --weaving-time [--full] weaving time only: results/weaving-time.md
              --whole-process [--full] [App.dll [args…]]  every TestAssemblies program (or the one given, with unwoven/ beside it)
                                      started as a process, woven against unwoven: results/whole-process.md
              --probe [variants] [W,…] [runs]   quick stopwatch runs of the in-memory variants, for working on the runtime
              --probe broker [W,…] [runs]       the broker variants, with the CPU seconds per 1,000 events of each process
              --probe checkpoints [W] [runs]    Pipeline3 through the broker with and without checkpoints of its stateful group
              --probe account [W,…] [runs]      CPU (broker included) and bytes on the wire per event, woven and raw, as the full run's table
            RabbitMQ variants need a broker: WEAVING_RABBITMQ, else the local one, in a virtual host weaving-benchmark made with rabbitmqctl.
            """);
        return 2;
    }

    public static int RunProbe(string[] args)
    {
        if (args.FirstOrDefault() == "broker") Benchmarks.Probe.Broker(args[1..]);
        else if (args.FirstOrDefault() == "checkpoints") Benchmarks.Probe.Checkpoints(args[1..]);
        else if (args.FirstOrDefault() == "account")
            foreach (var account in BrokerAccount.Measure(args.Length > 1 ? args[1].Split(',').Select(int.Parse) : Workload.Microseconds, args.Length > 2 ? int.Parse(args[2]) : 3))
                Console.WriteLine(account);
        else Benchmarks.Probe.Run(args);
        return 0;
    }

    public static int RunThroughput(bool full, string[] args)
    {
        var loadBefore = LoadAverage();
        // Before BenchmarkDotNet raises the process's priority for the runs.
        var niceBefore = Nice();
        var job = Job.Default
            .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true))
            .WithLaunchCount(1)
            .WithWarmupCount(full ? 3 : 1)
            .WithIterationCount(full ? 15 : 3)
            // One invocation is a whole run of events (a few hundred milliseconds), timed alone.
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithId(full ? "full" : "short");
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(ThroughputColumn.All)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
            .AddExporter(BenchmarkDotNet.Exporters.MarkdownExporter.GitHub)
            .WithArtifactsPath(Path.Combine(RepoPaths.Root, "benchmarks", "BenchmarkDotNet.Artifacts"))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);

        var notes = new List<string>();
        if (!BrokerAnswers(out var why))
        {
            config = config.AddFilter(new SimpleFilter(b => !ThroughputResult.VariantOf(b).Contains("RabbitMq", StringComparison.Ordinal)));
            notes.Add($"RabbitMQ variants not run: {why}");
            Console.Error.WriteLine($"benchmarks: {notes[^1]}");
        }
        if (args.SkipWhile(a => a != "--variants").Skip(1).FirstOrDefault() is { } only)
        {
            var keep = only.Split(',');
            config = config.AddFilter(new SimpleFilter(b => keep.Contains(ThroughputResult.VariantOf(b))));
        }

        var summary = BenchmarkRunner.Run<ThroughputBenchmarks>(config);
        var results = ThroughputResult.All(summary);
        var machine = new List<string>
        {
            $"machine: {CpuName()}, {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, " +
            $".NET {Environment.Version}, BenchmarkDotNet {summary.HostEnvironmentInfo.BenchmarkDotNetVersion}",
            $"job: {job.Id}, in-process, {job.Run.WarmupCount} warm-up + {job.Run.IterationCount} measured runs per case; events/s from the median run",
            $"W calibrated at {StageWork.IterationsPerMicrosecond:F0} iterations of the stage loop per µs",
            $"load average (1 min) before: {loadBefore}, after: {LoadAverage()} (a shared machine: other work competes for the 2 cores); " +
            $"started at nice {niceBefore}",
        };
        if (results.Any(r => r.Variant.Contains("RabbitMq", StringComparison.Ordinal))) notes.Add(BenchmarkBroker.Note);
        foreach (var w in Workload.Microseconds)
            if (WovenRabbitMqDeployment.FixedSecondsFor(w) is { } s)
                notes.Add($"WovenRabbitMq at W = {w}: the source process's fixed cost, {s:F2} s (measured with 0 events), is taken off each run");
        if (Pipeline3Build.Woven.RuntimeStatistics() is { Length: > 0 } statistics)
            notes.Add($"in-memory runtime, last decisions: {statistics}");
        // Issue 11's second target, CPU per event with the broker's: measured apart, on a broker of this machine.
        List<BrokerAccount>? accounts = null;
        if (results.Any(r => r.Variant == "WovenRabbitMq") && results.Any(r => r.Variant == "RawRabbitMqClient"))
        {
            if (CpuAccounting.BrokerPid() is null)
                notes.Add("CPU and bytes per event through the broker not measured: the broker does not run on this machine");
            else
            {
                Console.Error.WriteLine("benchmarks: CPU and bytes per event through the broker…");
                accounts = BrokerAccount.Measure(results.Select(r => r.W).Distinct().Order(), full ? 3 : 1);
            }
        }
        var command = $"dotnet run -c Release --project benchmarks -- {string.Join(' ', args)}";
        ThroughputReport.Write(results, ResultsDirectory(full), command, machine, notes, accounts);
        Console.WriteLine(File.ReadAllText(Path.Combine(ResultsDirectory(full), "table.md")));
        return results.Count == summary.BenchmarksCases.Length ? 0 : 1;
    }

    public static int RunWholeProcess(bool full, string[] args)
    {
        if (!WholeProcess.ProcessTimer.Available(out var why))
        {
            Console.Error.WriteLine($"benchmarks: {why}");
            return 2;
        }
        var rest = args.Where(a => a != "--full").ToArray();
        var programs = rest.Length > 0
            ? [WholeProcess.ProgramBuild.FromPath(rest[0], rest[1..])]
            : WholeProcess.ProgramBuild.TestAssemblies();
        var command = $"dotnet run -c Release --project benchmarks -- {(full ? "--full" : "--short")}" + (rest.Length > 0 ? " --whole-process " + string.Join(' ', rest) : "");
        var report = WholeProcess.WholeProcessComparison.Run(programs, full ? 5 : 3, command);
        // A program given by path is not the table the README quotes.
        var file = Path.Combine(rest.Length > 0 ? Path.Combine(RepoPaths.Root, "benchmarks", "results", "short") : ResultsDirectory(full), "whole-process.md");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, report);
        Console.WriteLine(report);
        return 0;
    }

    public static int RunWeavingTime(bool full)
    {
        var report = Weaving.Benchmarks.WeavingTime.WeavingTimeMeasurement.Run(full ? 5 : 2);
        Directory.CreateDirectory(ResultsDirectory(full));
        File.WriteAllText(Path.Combine(ResultsDirectory(full), "weaving-time.md"), report);
        Console.WriteLine(report);
        return 0;
    }

    static bool BrokerAnswers(out string why)
    {
        var uri = new Uri(BenchmarkBroker.Uri);
        try
        {
            using var client = new TcpClient();
            if (client.ConnectAsync(uri.Host, uri.Port > 0 ? uri.Port : 5672).Wait(TimeSpan.FromSeconds(3)))
            {
                why = "";
                return true;
            }
            why = $"no answer from {uri.Host}:{uri.Port} within 3 s";
        }
        catch (Exception e) when (e is SocketException or AggregateException)
        {
            why = $"{uri.Host}:{uri.Port}: {(e.InnerException ?? e).Message}";
        }
        why += ". Start it: rabbitmq-server -detached; until rabbitmq-diagnostics -q ping; do sleep 0.3; done; rabbitmqctl -q await_startup";
        return false;
    }

    static string CpuName() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
            : System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();

    static string Nice() =>
        File.Exists("/proc/self/stat") ? File.ReadAllText("/proc/self/stat").Split(") ")[1].Split(' ')[16] : "n/a";

    static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
}
