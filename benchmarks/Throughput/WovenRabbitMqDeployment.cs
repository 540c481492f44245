using System.Diagnostics;

namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// The woven Pipeline3 deployed as the design says: one Runtime.Host process per stage group, started once (in the
/// benchmark's setup) and kept running, and one more per run for the source (<c>--stage Main -- events work</c>), which
/// exits when its events and everything they caused are done. A run is timed from the source's start to its exit; the
/// source's fixed cost (process start, connection, queue declarations, the drain of an empty run) is measured in setup
/// with zero events and taken off, so that the figure is the pipeline's, as the in-process variants' are.
/// </summary>
public sealed class WovenRabbitMqDeployment : IDisposable
{
    readonly List<Process> groupHosts = [];
    readonly string brokerUri;
    readonly List<string> onEndOutput = [];
    readonly IReadOnlyDictionary<string, string> hostSettings;

    WovenRabbitMqDeployment(string brokerUri, IReadOnlyDictionary<string, string>? hostSettings)
    {
        this.brokerUri = brokerUri;
        this.hostSettings = hostSettings ?? new Dictionary<string, string>();
    }

    static readonly Dictionary<int, double> fixedSecondsByW = [];

    /// <summary>Keeps the fixed cost measured for a W, for the throughput columns.</summary>
    public static void Record(int w, double fixedSeconds)
    {
        lock (fixedSecondsByW) fixedSecondsByW[w] = fixedSeconds;
    }

    public static double? FixedSecondsFor(int w)
    {
        lock (fixedSecondsByW) return fixedSecondsByW.TryGetValue(w, out var s) ? s : null;
    }

    public static string HostDll => Path.Combine(RepoPaths.Root, "Runtime.Host", "bin", RepoPaths.Configuration, "net10.0", "Runtime.Host.dll");

    /// <summary>Seconds a source run with no events takes: what <see cref="RunSource"/> takes beyond the events.</summary>
    public double FixedSeconds { get; private set; }

    /// <summary>Starts one host per group; <paramref name="hostSettings"/> are environment variables for every host (<c>Weaving__Checkpoints</c>, …).</summary>
    public static WovenRabbitMqDeployment Start(string brokerUri, IReadOnlyDictionary<string, string>? hostSettings = null)
    {
        if (!File.Exists(HostDll))
            throw new FileNotFoundException($"{HostDll} is missing: build Runtime.Host (dotnet build -c {RepoPaths.Configuration} Runtime.Host).", HostDll);
        var deployment = new WovenRabbitMqDeployment(brokerUri, hostSettings);
        // Whatever happens to this process, its group hosts go with it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => deployment.Dispose();
        try
        {
            var groups = deployment.Groups();
            deployment.DeleteQueues(groups.Select(g => g.Queue));
            foreach (var (group, _) in groups)
                deployment.StartGroupHost(group);
            deployment.FixedSeconds = Enumerable.Range(0, 3).Select(_ => deployment.TimedSource(0, 0)).Order().ElementAt(1);
            return deployment;
        }
        catch
        {
            deployment.Dispose();
            throw;
        }
    }

    /// <summary>Runs the source with <paramref name="events"/> events; returns its wall time in seconds.</summary>
    public double RunSource(int events, int work) => TimedSource(events, work);

    /// <summary>CPU seconds the group hosts used so far, together.</summary>
    public double GroupHostsCpuSeconds() => groupHosts.Sum(h => CpuAccounting.SecondsOf(h.Id) ?? 0);

    /// <summary>
    /// The report of a run of <paramref name="events"/> events, as the group that runs OnEnd printed it. The source exits
    /// once OnEnd ran, but the line comes through that host's stdout pipe a little later: waits a few seconds for it.
    /// </summary>
    public string Report(int events)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            lock (onEndOutput)
            {
                var report = onEndOutput.LastOrDefault(l => l.StartsWith($"{events} events aggregated", StringComparison.Ordinal));
                if (report is not null || DateTime.UtcNow > deadline) return report ?? (onEndOutput.Count == 0 ? "" : onEndOutput[^1]);
            }
            Thread.Sleep(20);
        }
    }

    double TimedSource(int events, int work)
    {
        var start = Stopwatch.GetTimestamp();
        var result = RunHost(["--app", Pipeline3Build.WovenDll, "--stage", "Main", "--", events.ToString(), work.ToString()], TimeSpan.FromMinutes(10));
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"the source exited with {result.ExitCode}:{Environment.NewLine}{result.Error}");
        return seconds;
    }

    // From the host's own listing: one line per group, tab-separated, the name first and the queue last.
    IReadOnlyList<(string Name, string Queue)> Groups()
    {
        var listing = RunHost(["--app", Pipeline3Build.WovenDll, "--list"], TimeSpan.FromMinutes(1));
        if (listing.ExitCode != 0) throw new InvalidOperationException($"Runtime.Host --list failed: {listing.Error}");
        return listing.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('\t')).Select(fields => (fields[0], fields[^1])).ToArray();
    }

    void StartGroupHost(string group)
    {
        var process = Process.Start(StartInfo(["--app", Pipeline3Build.WovenDll, "--stage", group]))!;
        groupHosts.Add(process);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var error = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (error) error.AppendLine(e.Data);
            if (e.Data.Contains("consuming", StringComparison.Ordinal)) ready.TrySetResult();
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (onEndOutput) onEndOutput.Add(e.Data);
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        if (!ready.Task.Wait(TimeSpan.FromSeconds(60)) || process.HasExited)
            throw new InvalidOperationException($"the host of group {group} did not start consuming:{Environment.NewLine}{error}");
    }

    // A run starts from empty queues: nothing left over from an interrupted benchmark or a test.
    void DeleteQueues(IEnumerable<string> groupQueues)
    {
        using var connection = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(brokerUri) }.CreateConnectionAsync().GetAwaiter().GetResult();
        using var channel = connection.CreateChannelAsync().GetAwaiter().GetResult();
        foreach (var queue in groupQueues.SelectMany(q => new[] { q, q + ".dead", q + ".owner", q + ".checkpoint" }))
            channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false).GetAwaiter().GetResult();
    }

    (int ExitCode, string Output, string Error) RunHost(string[] arguments, TimeSpan timeout)
    {
        using var process = Process.Start(StartInfo(arguments))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Runtime.Host {string.Join(' ', arguments)} did not exit within {timeout}.");
        }
        return (process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }

    ProcessStartInfo StartInfo(string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(HostDll);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["WEAVING_RABBITMQ"] = brokerUri;
        info.Environment["Logging__LogLevel__Default"] = "Information";
        foreach (var (key, value) in hostSettings) info.Environment[key] = value;
        return info;
    }

    public void Dispose()
    {
        foreach (var host in groupHosts)
        {
            try
            {
                if (!host.HasExited)
                {
                    host.Kill(entireProcessTree: true);
                    host.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException) { }
            host.Dispose();
        }
        groupHosts.Clear();
    }
}
