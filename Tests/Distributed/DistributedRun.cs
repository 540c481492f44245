using System.Text;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>How a distributed run is laid out; the defaults are one host per group.</summary>
public sealed record DistributedRunOptions
{
    /// <summary>Hosts to start for a group (by group name); groups not named get one.</summary>
    public IReadOnlyDictionary<string, int> HostsPerGroup { get; init; } = new Dictionary<string, int>();

    /// <summary>Extra host settings, as environment variables (<c>Weaving__Prefetch</c>, …), for every process.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Runs once every host consumes, before the source starts (to put something on a queue, say).</summary>
    public Action<DistributedLayout>? BeforeSource { get; init; }

    /// <summary>Runs while the source runs (to crash a host, say); the source's exit is awaited after it returns.</summary>
    public Action<DistributedLayout, HostProcess>? WhileSourceRuns { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How many times the source runs, one after the other, against the same hosts; the result is the last run's.</summary>
    public int Runs { get; init; } = 1;
}

/// <summary>A fixture's groups and queues, as <c>Runtime.Host --list</c> reports them, and the hosts of a run.</summary>
public sealed record DistributedLayout(string WovenDll, IReadOnlyList<GroupLayout> Groups)
{
    public string App => Path.GetFileNameWithoutExtension(WovenDll);
    public IEnumerable<string> AllQueues => Groups.SelectMany(g => g.OwnsState ? new[] { g.Queue, g.DeadQueue, g.OwnerQueue, g.CheckpointQueue } : [g.Queue, g.DeadQueue]);
    public GroupLayout Group(string name) => Groups.Single(g => g.Name == name);
    /// <summary>The group that runs <paramref name="stage"/>.</summary>
    public GroupLayout GroupOf(string stage) => Groups.Single(g => g.Stages.Contains(stage));
    public List<HostProcess> Hosts { get; } = [];
    public IEnumerable<HostProcess> HostsOf(string group) => Hosts.Where(h => h.Role == group);

    internal SharedOutput? Output { get; set; }
    internal IReadOnlyDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>();

    /// <summary>Starts one more host of <paramref name="group"/> in the run (its stdout joins the run's; it is stopped with the others).</summary>
    public HostProcess StartHost(string group, IReadOnlyDictionary<string, string>? environment = null)
    {
        var env = new Dictionary<string, string>(Environment);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) env[key] = value;
        var host = HostProcess.Start(group, ["--app", WovenDll, "--stage", group], Output, env);
        Hosts.Add(host);
        return host;
    }
}

public sealed record GroupLayout(string Name, IReadOnlyList<string> Stages, bool OwnsState, string Queue)
{
    public string DeadQueue => Queue + ".dead";
    /// <summary>A stateful group's owner record (which host is active, and how many messages of the run it processed).</summary>
    public string OwnerQueue => Queue + ".owner";
    /// <summary>A stateful group's latest checkpoint.</summary>
    public string CheckpointQueue => Queue + ".checkpoint";
}

/// <summary>The outcome of a distributed run.</summary>
/// <param name="ExitCode">The source's (Main's) exit code.</param>
/// <param name="StandardOutput">What every process wrote to stdout, in the order written.</param>
/// <param name="Distributed">False when the assembly has no woven stages (the weaver cut nothing), so that there was
/// nothing to distribute and the program ran as <c>dotnet App.dll</c>.</param>
public sealed record DistributedResult(int ExitCode, string StandardOutput, ProcessResult Source, IReadOnlyList<(string Group, ProcessResult Result)> Hosts,
    bool Distributed = true)
{
    /// <summary>How many messages the hosts of <paramref name="group"/> each processed, read from their shutdown log line.</summary>
    public IReadOnlyList<long> ProcessedBy(string group) => Counted(group, "message(s) processed");

    /// <summary>How many redeliveries the hosts of <paramref name="group"/> each recognised and skipped.</summary>
    public IReadOnlyList<long> DuplicatesSkippedBy(string group) => Counted(group, "duplicate(s) skipped");

    /// <summary>How many messages the host at <paramref name="index"/> (in start order) processed.</summary>
    public long ProcessedByHost(int index) => ReadCount(Hosts[index].Group, Hosts[index].Result.StandardError, "message(s) processed");

    IReadOnlyList<long> Counted(string group, string what) =>
        Hosts.Where(h => h.Group == group).Select(h => ReadCount(group, h.Result.StandardError, what)).ToArray();

    // The line a host logs when it stops: "Group X: 5 message(s) processed, 0 failed, 0 dead-lettered, 0 duplicate(s) skipped".
    static long ReadCount(string group, string standardError, string what)
    {
        var marker = $"Group {group}: ";
        var line = standardError.Split('\n').LastOrDefault(l => l.Contains(marker, StringComparison.Ordinal) && l.Contains(" message(s) processed", StringComparison.Ordinal));
        Assert.IsNotNull(line, $"no shutdown line for group {group} in:{System.Environment.NewLine}{standardError}");
        var counts = line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..].Split(", ");
        var field = counts.Single(c => c.TrimEnd().EndsWith(what, StringComparison.Ordinal));
        return long.Parse(field[..field.IndexOf(' ')]);
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine($"source: {Source}");
        foreach (var (group, result) in Hosts) text.AppendLine($"host {group}: {result}");
        return text.ToString();
    }
}

/// <summary>
/// Runs a woven program through RabbitMQ: its queues deleted first, one Runtime.Host per group (waiting until each
/// consumes), then <c>Runtime.Host --stage Main</c> as the source. When the source exits the hosts get SIGTERM, as a
/// supervisor would stop them, and must exit cleanly. Works for any woven fixture: the groups come from the host's
/// <c>--list</c>, which reads the same attributes the weaver emits. An assembly in which the weaver cut nothing (no
/// WovenAssembly attribute) has nothing to distribute: it runs as <c>dotnet App.dll</c>, and the result says so.
/// </summary>
public static class DistributedRun
{
    static readonly TimeSpan startup = TimeSpan.FromSeconds(60);
    static readonly TimeSpan shutdown = TimeSpan.FromSeconds(60);

    public static DistributedResult Run(Fixture fixture, IEnumerable<string>? programArguments = null, DistributedRunOptions? options = null) =>
        Run(fixture.WovenDll, programArguments, options);

    public static DistributedResult Run(string wovenDll, IEnumerable<string>? programArguments = null, DistributedRunOptions? options = null)
    {
        options ??= new DistributedRunOptions();
        Broker.EnsureReachable();
        var layout = Layout(wovenDll);
        if (layout is null)
        {
            var plain = ProcessRunner.RunDotnet(wovenDll, programArguments, options.Timeout);
            return new DistributedResult(plain.ExitCode, plain.StandardOutput, plain, [], Distributed: false);
        }
        Broker.DeleteQueuesAsync(layout.AllQueues).GetAwaiter().GetResult();

        using var output = new SharedOutput();
        layout.Output = output;
        layout.Environment = options.Environment;
        try
        {
            foreach (var group in layout.Groups)
                for (var i = 0; i < options.HostsPerGroup.GetValueOrDefault(group.Name, 1); i++)
                {
                    var host = layout.StartHost(group.Name);
                    // One at a time: the first host of a stateful group is the active one.
                    if (group.OwnsState) host.WaitForLog($"consuming {group.Queue}", startup);
                }
            foreach (var host in layout.Hosts)
                host.WaitForLog($"consuming {layout.Group(host.Role).Queue}", startup);
            options.BeforeSource?.Invoke(layout);

            ProcessResult sourceResult = null!;
            for (var run = 0; run < options.Runs; run++)
            {
                using var source = HostProcess.Start("Main", ["--app", wovenDll, "--stage", "Main", "--", .. programArguments ?? []], output,
                    new Dictionary<string, string>(options.Environment));
                options.WhileSourceRuns?.Invoke(layout, source);
                try
                {
                    sourceResult = source.WaitForExit(options.Timeout);
                }
                catch (TimeoutException e)
                {
                    // What the hosts said is what tells why the source still waited.
                    var hostsSaid = string.Concat(layout.Hosts.Select(h => $"{Environment.NewLine}--- host {h.Role} ---{Environment.NewLine}{h.StandardErrorSoFar}"));
                    throw new TimeoutException(e.Message + hostsSaid, e);
                }
            }

            var hosts = new List<(string, ProcessResult)>();
            foreach (var host in layout.Hosts)
                hosts.Add((host.Role, host.Terminate(shutdown)));
            var stdout = OperatingSystem.IsWindows()
                ? sourceResult.StandardOutput + string.Concat(hosts.Select(h => h.Item2.StandardOutput))
                : output.Read();
            return new DistributedResult(sourceResult.ExitCode, stdout, sourceResult, hosts);
        }
        finally
        {
            foreach (var host in layout.Hosts) host.Dispose();
        }
    }

    /// <summary>The groups of a woven assembly, from <c>Runtime.Host --list</c>; null when the assembly is not woven.</summary>
    public static DistributedLayout? Layout(string wovenDll)
    {
        var list = ProcessRunner.Run("dotnet", [HostProcess.HostDll, "--app", wovenDll, "--list"], TimeSpan.FromMinutes(1));
        if (list.ExitCode != 0 && list.StandardError.Contains(" is not woven", StringComparison.Ordinal)) return null;
        Assert.AreEqual(0, list.ExitCode, $"Runtime.Host --list failed: {list}");
        var groups = list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('\t'))
            .Select(f => new GroupLayout(f[0], f[1].Split(','), f[2] == "owns state", f[3]))
            .ToArray();
        return new DistributedLayout(wovenDll, groups);
    }
}
